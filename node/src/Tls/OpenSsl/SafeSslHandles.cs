using System.Runtime.InteropServices;

namespace Tandem.Node.Tls.OpenSsl;

/// <summary>An <c>SSL_CTX</c>, freed with <c>SSL_CTX_free</c>.</summary>
internal sealed class SafeSslContextHandle : SafeHandle
{
    public SafeSslContextHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Interop.SSL_CTX_free(handle);
        return true;
    }
}

/// <summary>An <c>SSL</c> connection with its two memory BIOs, which <c>SSL_free</c> frees too.</summary>
internal sealed class SafeSslHandle : SafeHandle
{
    public SafeSslHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Interop.SSL_free(handle);
        return true;
    }
}
