using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Tandem.SessionStore.TicketKeys;

namespace Tandem.Node.Tls.OpenSsl;

/// <summary>
/// The node's OpenSSL <c>SSL_CTX</c> objects, one per server certificate: certificate chain and key, TLS 1.2 and 1.3,
/// ALPN <c>h2</c> then <c>http/1.1</c>, and session tickets whose keys come from the cluster's
/// <see cref="TicketKeyRing"/>. Tickets issued by one node resume on every node that shares the ring, because the
/// session-id context is the same constant on all of them and OpenSSL's own random ticket keys are never used.
/// </summary>
/// <remarks>
/// Every connection starts on the default certificate's context. The servername callback then moves it with
/// <c>SSL_set_SSL_CTX</c> to the context that <see cref="ServerCertificateSelector"/> picks. That call swaps the
/// certificate, but OpenSSL 3 reads the ticket key callback from the first context and the ALPN callback from the new
/// one. So every context gets the same settings and callbacks, and a ticket resumes whichever certificate issued it.
/// </remarks>
internal sealed unsafe class OpenSslServerContext : IDisposable
{
    /// <summary>
    /// The session-id context, which OpenSSL stores in each session and checks on resumption. It must be equal on
    /// every node, so it is a constant rather than OpenSSL's default.
    /// </summary>
    private static readonly byte[] SessionIdContext = "tandem-proxy"u8.ToArray();

    // ALPN protocol list in wire format (RFC 7301 §3.1): h2 first, so the server's preference wins.
    private static readonly byte* AlpnProtocols = AllocateNative([2, (byte)'h', (byte)'2', 8, .. "http/1.1"u8]);
    private const uint AlpnProtocolsLength = 12;

    private static readonly byte* MacKeyParameter = AllocateNative([.. "key"u8, 0]);
    private static readonly byte* MacDigestParameter = AllocateNative([.. "digest"u8, 0]);
    private static readonly byte* Sha256Name = AllocateNative([.. "SHA256"u8, 0]);
    private const int Sha256NameLength = 6;

    // The ticket callback has no argument pointer, so it finds its context through the SSL_CTX address.
    private static readonly ConcurrentDictionary<nint, OpenSslServerContext> Contexts = new();

    private readonly SafeSslContextHandle[] _handles;
    private readonly ServerCertificateSelector _selector;
    private readonly TicketKeyRing _ring;
    private readonly TlsMetrics _metrics;

    private OpenSslServerContext(
        SafeSslContextHandle[] handles,
        ServerCertificateSelector selector,
        TicketKeyRing ring,
        TlsMetrics metrics)
    {
        _handles = handles;
        _selector = selector;
        _ring = ring;
        _metrics = metrics;
    }

    private nint DefaultHandle => _handles[0].DangerousGetHandle();

    /// <summary>
    /// Creates one context per certificate from the PEM files the node already checked with
    /// <see cref="ServerCertificate.Load"/>, in the order of <see cref="ServerCertificateSelector.Certificates"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">OpenSSL rejected a file or a setting; the message names which.</exception>
    public static OpenSslServerContext Create(ServerCertificateSelector selector, TicketKeyRing ring, TlsMetrics metrics)
    {
        var handles = new SafeSslContextHandle[selector.Certificates.Count];
        try
        {
            for (var i = 0; i < handles.Length; i++)
            {
                handles[i] = CreateHandle(selector.Certificates[i], ring.Options.TicketLifetime);
            }
        }
        catch
        {
            foreach (var created in handles)
            {
                created?.Dispose();
            }

            throw;
        }

        if (handles.Length > 1)
        {
            // Only the default context needs it, because every connection starts there.
            Interop.SSL_CTX_callback_ctrl(handles[0].DangerousGetHandle(), Interop.SslCtrlSetTlsextServernameCallback, &OnServerName);
        }

        var context = new OpenSslServerContext(handles, selector, ring, metrics);
        foreach (var handle in handles)
        {
            Contexts[handle.DangerousGetHandle()] = context;
        }

        return context;
    }

    private static SafeSslContextHandle CreateHandle(ServerCertificate certificate, TimeSpan ticketLifetime)
    {
        Interop.ERR_clear_error();
        var pointer = Interop.SSL_CTX_new(Interop.TLS_server_method());
        if (pointer == 0)
        {
            throw new InvalidOperationException($"SSL_CTX_new failed ({Interop.TakeErrorReason()}).");
        }

        var handle = new SafeSslContextHandle();
        Marshal.InitHandle(handle, pointer);
        try
        {
            Configure(pointer, certificate, ticketLifetime);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return handle;
    }

    /// <summary>Creates the <c>SSL</c> object of one connection with its two memory BIOs.</summary>
    public SafeSslHandle CreateConnection()
    {
        Interop.ERR_clear_error();
        var ssl = Interop.SSL_new(DefaultHandle);
        if (ssl == 0)
        {
            throw new InvalidOperationException($"SSL_new failed ({Interop.TakeErrorReason()}).");
        }

        var handle = new SafeSslHandle();
        Marshal.InitHandle(handle, ssl);
        var readBio = Interop.BIO_new(Interop.BIO_s_mem());
        var writeBio = Interop.BIO_new(Interop.BIO_s_mem());
        if (readBio == 0 || writeBio == 0)
        {
            Interop.BIO_free(readBio);
            Interop.BIO_free(writeBio);
            handle.Dispose();
            throw new InvalidOperationException($"BIO_new failed ({Interop.TakeErrorReason()}).");
        }

        // SSL_set_bio hands both BIOs to the SSL object, so SSL_free frees them.
        Interop.SSL_set_bio(ssl, readBio, writeBio);
        Interop.SSL_set_accept_state(ssl);
        return handle;
    }

    public void Dispose()
    {
        foreach (var handle in _handles)
        {
            Contexts.TryRemove(handle.DangerousGetHandle(), out _);
            handle.Dispose();
        }
    }

    private static void Configure(nint context, ServerCertificate certificate, TimeSpan ticketLifetime)
    {
        var certificatePath = certificate.CertificatePath;
        var keyPath = certificate.KeyPath;
        Check(Interop.SSL_CTX_ctrl(context, Interop.SslCtrlSetMinProtoVersion, Interop.Tls12Version, 0) == 1,
            "setting TLS 1.2 as the minimum version");

        // RFC 7540 §9.2.1 forbids renegotiation under HTTP/2, and no client of a reverse proxy needs it.
        Interop.SSL_CTX_set_options(context, Interop.SslOpNoRenegotiation | Interop.SslOpCipherServerPreference);

        // Resumption goes through tickets only: a session cache would live in one process, so a session id issued
        // by one node would resume there and nowhere else.
        Interop.SSL_CTX_ctrl(context, Interop.SslCtrlSetSessionCacheMode, Interop.SslSessionCacheOff, 0);

        Check(Interop.SSL_CTX_use_certificate_chain_file(context, certificatePath) == 1,
            $"loading the certificate chain from '{certificatePath}' ({certificate.Setting}:CertificatePath)");
        Check(Interop.SSL_CTX_use_PrivateKey_file(context, keyPath, Interop.SslFiletypePem) == 1,
            $"loading the private key from '{keyPath}' ({certificate.Setting}:KeyPath)");
        Check(Interop.SSL_CTX_check_private_key(context) == 1,
            $"matching the key in '{keyPath}' with the certificate in '{certificatePath}'");

        fixed (byte* sessionIdContext = SessionIdContext)
        {
            Check(Interop.SSL_CTX_set_session_id_context(context, sessionIdContext, (uint)SessionIdContext.Length) == 1,
                "setting the session-id context");
        }

        // The lifetime hint keeps clients from offering a ticket that every node has retired (RFC 8446 §4.6.1).
        Interop.SSL_CTX_set_timeout(context, (nint)ticketLifetime.TotalSeconds);
        Interop.SSL_CTX_set_alpn_select_cb(context, &OnAlpnSelect, 0);
        Check(Interop.SSL_CTX_set_tlsext_ticket_key_evp_cb(context, &OnTicketKey) == 1, "setting the ticket key callback");
    }

    private static void Check(bool succeeded, string step)
    {
        if (!succeeded)
        {
            throw new InvalidOperationException($"OpenSSL failed {step} ({Interop.TakeErrorReason() ?? "no reason given"}).");
        }
    }

    /// <summary>
    /// Moves the connection to the context of the certificate for the client's server name. OpenSSL calls it after it
    /// has parsed the ClientHello extensions, also when the client sent no server name.
    /// </summary>
    [UnmanagedCallersOnly]
    private static int OnServerName(nint ssl, int* alert, nint argument)
    {
        try
        {
            if (!Contexts.TryGetValue(Interop.SSL_get_SSL_CTX(ssl), out var context))
            {
                *alert = Interop.SslAdInternalError;
                return Interop.SslTlsextErrAlertFatal;
            }

            var name = Interop.SSL_get_servername(ssl, Interop.TlsextNametypeHostName);
            var index = context._selector.SelectIndex(name is null ? null : Marshal.PtrToStringUTF8((nint)name));
            if (index != 0 && Interop.SSL_set_SSL_CTX(ssl, context._handles[index].DangerousGetHandle()) == 0)
            {
                *alert = Interop.SslAdInternalError;
                return Interop.SslTlsextErrAlertFatal;
            }

            return Interop.SslTlsextErrOk;
        }
        catch
        {
            // An exception must not unwind through OpenSSL's stack, so the handshake fails instead.
            *alert = Interop.SslAdInternalError;
            return Interop.SslTlsextErrAlertFatal;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnAlpnSelect(nint ssl, byte** output, byte* outputLength, byte* input, uint inputLength, nint argument)
    {
        try
        {
            var result = Interop.SSL_select_next_proto(output, outputLength, AlpnProtocols, AlpnProtocolsLength, input, inputLength);

            // Without a common protocol the handshake goes on without ALPN, and Kestrel then speaks HTTP/1.1.
            return result == Interop.OpenSslNpnNegotiated ? Interop.SslTlsextErrOk : Interop.SslTlsextErrNoAck;
        }
        catch
        {
            return Interop.SslTlsextErrNoAck;
        }
    }

    /// <summary>
    /// Sets up the cipher and HMAC of one session ticket, as <c>SSL_CTX_set_tlsext_ticket_key_evp_cb</c> describes:
    /// when encrypting it returns 1; when decrypting it returns 0 for an unknown key name (full handshake), 1 for the
    /// current key, and 2 for an older key so OpenSSL issues a fresh ticket. A negative value aborts the handshake.
    /// </summary>
    [UnmanagedCallersOnly]
    private static int OnTicketKey(nint ssl, byte* keyName, byte* iv, nint cipherContext, nint macContext, int encrypt)
    {
        try
        {
            if (!Contexts.TryGetValue(Interop.SSL_get_SSL_CTX(ssl), out var context))
            {
                return -1;
            }

            return encrypt == 1
                ? context.SetUpEncryption(keyName, iv, cipherContext, macContext)
                : context.SetUpDecryption(keyName, iv, cipherContext, macContext);
        }
        catch
        {
            // An exception must not unwind through OpenSSL's stack, so the handshake fails instead.
            return -1;
        }
    }

    private int SetUpEncryption(byte* keyName, byte* iv, nint cipherContext, nint macContext)
    {
        var key = _ring.Current.Encryption;
        key.Name.CopyTo(new Span<byte>(keyName, TicketKey.NameLength));
        if (Interop.RAND_bytes(iv, 16) != 1)
        {
            return -1;
        }

        fixed (byte* aesKey = key.AesKey)
        {
            if (Interop.EVP_EncryptInit_ex(cipherContext, Interop.EVP_aes_256_cbc(), 0, aesKey, iv) != 1)
            {
                return -1;
            }
        }

        return SetMacKey(macContext, key) ? 1 : -1;
    }

    private int SetUpDecryption(byte* keyName, byte* iv, nint cipherContext, nint macContext)
    {
        var keys = _ring.Current;
        var key = keys.Find(new ReadOnlySpan<byte>(keyName, TicketKey.NameLength));
        if (key is null)
        {
            _metrics.RecordTicketRejected();
            return 0;
        }

        if (!SetMacKey(macContext, key))
        {
            return -1;
        }

        fixed (byte* aesKey = key.AesKey)
        {
            if (Interop.EVP_DecryptInit_ex(cipherContext, Interop.EVP_aes_256_cbc(), 0, aesKey, iv) != 1)
            {
                return -1;
            }
        }

        return ReferenceEquals(key, keys.Encryption) ? 1 : 2;
    }

    private static bool SetMacKey(nint macContext, TicketKey key)
    {
        fixed (byte* hmacKey = key.HmacKey)
        {
            var parameters = stackalloc Interop.OsslParam[3];
            parameters[0] = new Interop.OsslParam
            {
                Key = MacKeyParameter,
                DataType = Interop.OsslParamOctetString,
                Data = hmacKey,
                DataSize = TicketKey.HmacKeyLength,
                ReturnSize = nuint.MaxValue,
            };
            parameters[1] = new Interop.OsslParam
            {
                Key = MacDigestParameter,
                DataType = Interop.OsslParamUtf8String,
                Data = Sha256Name,
                DataSize = Sha256NameLength,
                ReturnSize = nuint.MaxValue,
            };
            parameters[2] = default;
            return Interop.EVP_MAC_CTX_set_params(macContext, parameters) == 1;
        }
    }

    /// <summary>Copies <paramref name="bytes"/> to memory that is never freed, for pointers OpenSSL keeps.</summary>
    private static byte* AllocateNative(byte[] bytes)
    {
        var memory = (byte*)NativeMemory.Alloc((nuint)bytes.Length);
        bytes.CopyTo(new Span<byte>(memory, bytes.Length));
        return memory;
    }
}
