using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;

namespace Tandem.Node.Tls.OpenSsl;

/// <summary>
/// One TLS connection driven through OpenSSL memory BIOs: encrypted bytes from the transport pipe go into the read
/// BIO, and what OpenSSL writes to the write BIO goes out to the transport. The stream's own reads and writes carry
/// the plaintext.
/// </summary>
/// <remarks>
/// Kestrel reads and writes from different threads (HTTP/2 always does), and an <c>SSL</c> object is not thread
/// safe, so every OpenSSL call on it runs under one lock. Transport I/O happens outside that lock. A second lock
/// keeps the order of outgoing bytes: it is held from draining the write BIO until the transport has the bytes.
/// </remarks>
internal sealed class OpenSslStream : Stream
{
    private readonly SafeSslHandle _ssl;
    private readonly nint _readBio;
    private readonly nint _writeBio;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly Lock _sslLock = new();
    private readonly SemaphoreSlim _outputLock = new(1, 1);
    private bool _disposed;

    public OpenSslStream(SafeSslHandle ssl, IDuplexPipe transport)
    {
        _ssl = ssl;
        _input = transport.Input;
        _output = transport.Output;

        // SSL_set_bio fixed both BIOs for the connection's life, so their pointers are read once.
        _readBio = GetBio(ssl, read: true);
        _writeBio = GetBio(ssl, read: false);
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Runs the server side of the handshake until it completes.</summary>
    /// <exception cref="TlsHandshakeException">The handshake failed or the client closed the connection.</exception>
    public async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = DoHandshakeStep(out var error, out var reason);

            // Send what OpenSSL wrote even on failure, because that is the alert with the cause for the client.
            await FlushOutputAsync(cancellationToken);

            if (result == 1)
            {
                return;
            }

            if (error != Interop.SslErrorWantRead)
            {
                throw new TlsHandshakeException(TlsHandshakeFailureReason.ProtocolError, reason ?? $"SSL_get_error {error}");
            }

            if (!await FillReadBioAsync(cancellationToken))
            {
                throw new TlsHandshakeException(TlsHandshakeFailureReason.ClientClosed, "connection closed during the handshake");
            }
        }
    }

    /// <summary>Reads the negotiated parameters; call after <see cref="HandshakeAsync"/>.</summary>
    public unsafe TlsSessionInfo GetSessionInfo()
    {
        lock (_sslLock)
        {
            ThrowIfDisposed();
            var ssl = _ssl.DangerousGetHandle();

            byte* alpn;
            uint alpnLength;
            Interop.SSL_get0_alpn_selected(ssl, &alpn, &alpnLength);
            var hostName = Interop.SSL_get_servername(ssl, Interop.TlsextNametypeHostName);
            var cipher = Interop.SSL_get_current_cipher(ssl);

            return new TlsSessionInfo(
                ApplicationProtocol: alpnLength == 0 ? default : new ReadOnlySpan<byte>(alpn, (int)alpnLength).ToArray(),
                ProtocolVersion: Interop.SSL_version(ssl),
                CipherSuite: cipher == 0 ? (ushort)0 : Interop.SSL_CIPHER_get_protocol_id(cipher),
                HostName: hostName is null ? "" : Marshal.PtrToStringUTF8((nint)hostName) ?? "",
                Resumed: Interop.SSL_session_reused(ssl) == 1);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            var result = ReadPlaintext(buffer.Span, out var error, out var reason);

            if (result > 0)
            {
                return result;
            }

            // Reading can make OpenSSL write, for example the reply to a TLS 1.3 KeyUpdate (RFC 8446 §4.6.3).
            await FlushOutputAsync(cancellationToken);

            switch (error)
            {
                case Interop.SslErrorZeroReturn:
                    // close_notify from the client: the end of the plaintext stream.
                    return 0;
                case Interop.SslErrorWantRead:
                    if (!await FillReadBioAsync(cancellationToken))
                    {
                        return 0;
                    }

                    break;
                default:
                    throw new IOException($"TLS read failed ({reason ?? $"SSL_get_error {error}"}).");
            }
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return;
        }

        WritePlaintext(buffer.Span);
        await FlushOutputAsync(cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Sends close_notify, best effort, so the client knows the response was not truncated.</summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        lock (_sslLock)
        {
            if (_disposed)
            {
                return;
            }

            Interop.ERR_clear_error();
            Interop.SSL_shutdown(_ssl.DangerousGetHandle());
            Interop.ERR_clear_error();
        }

        await FlushOutputAsync(cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_sslLock)
            {
                if (!_disposed)
                {
                    _disposed = true;
                    _ssl.Dispose();
                }
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>Moves the next chunk of encrypted bytes from the transport into the read BIO; false at end of input.</summary>
    private async ValueTask<bool> FillReadBioAsync(CancellationToken cancellationToken)
    {
        var read = await _input.ReadAsync(cancellationToken);
        var buffer = read.Buffer;
        if (buffer.IsEmpty && read.IsCompleted)
        {
            _input.AdvanceTo(buffer.End);
            return false;
        }

        try
        {
            WriteToReadBio(buffer);
        }
        catch
        {
            _input.AdvanceTo(buffer.End);
            throw;
        }

        _input.AdvanceTo(buffer.End);
        return true;
    }

    /// <summary>Sends everything OpenSSL has written to the write BIO.</summary>
    private async ValueTask FlushOutputAsync(CancellationToken cancellationToken)
    {
        await _outputLock.WaitAsync(cancellationToken);
        try
        {
            var written = DrainWriteBio();

            if (written)
            {
                var flush = await _output.FlushAsync(cancellationToken);
                if (flush.IsCompleted)
                {
                    throw new IOException("The transport was closed while sending TLS records.");
                }
            }
        }
        finally
        {
            _outputLock.Release();
        }
    }

    private unsafe int DoHandshakeStep(out int error, out string? reason)
    {
        lock (_sslLock)
        {
            ThrowIfDisposed();
            Interop.ERR_clear_error();
            var result = Interop.SSL_do_handshake(_ssl.DangerousGetHandle());
            error = result == 1 ? Interop.SslErrorNone : Interop.SSL_get_error(_ssl.DangerousGetHandle(), result);
            reason = error is Interop.SslErrorSsl or Interop.SslErrorSyscall ? Interop.TakeErrorReason() : null;
            return result;
        }
    }

    private unsafe int ReadPlaintext(Span<byte> buffer, out int error, out string? reason)
    {
        lock (_sslLock)
        {
            ThrowIfDisposed();
            Interop.ERR_clear_error();
            int result;
            fixed (byte* pointer = buffer)
            {
                result = Interop.SSL_read(_ssl.DangerousGetHandle(), pointer, buffer.Length);
            }

            error = result > 0 ? Interop.SslErrorNone : Interop.SSL_get_error(_ssl.DangerousGetHandle(), result);
            reason = error is Interop.SslErrorSsl or Interop.SslErrorSyscall ? Interop.TakeErrorReason() : null;
            return result;
        }
    }

    private unsafe void WritePlaintext(ReadOnlySpan<byte> buffer)
    {
        lock (_sslLock)
        {
            ThrowIfDisposed();
            Interop.ERR_clear_error();
            int result;
            fixed (byte* pointer = buffer)
            {
                // A memory BIO never blocks, so SSL_write encrypts the whole buffer or fails.
                result = Interop.SSL_write(_ssl.DangerousGetHandle(), pointer, buffer.Length);
            }

            if (result <= 0)
            {
                var error = Interop.SSL_get_error(_ssl.DangerousGetHandle(), result);
                throw new IOException($"TLS write failed ({Interop.TakeErrorReason() ?? $"SSL_get_error {error}"}).");
            }
        }
    }

    private unsafe void WriteToReadBio(in ReadOnlySequence<byte> buffer)
    {
        lock (_sslLock)
        {
            ThrowIfDisposed();
            foreach (var segment in buffer)
            {
                fixed (byte* pointer = segment.Span)
                {
                    if (Interop.BIO_write(_readBio, pointer, segment.Length) != segment.Length)
                    {
                        throw new IOException("Writing received bytes to the OpenSSL read BIO failed.");
                    }
                }
            }
        }
    }

    /// <summary>Moves what OpenSSL wrote into the transport's buffer; true when there was anything.</summary>
    private unsafe bool DrainWriteBio()
    {
        var written = false;
        lock (_sslLock)
        {
            if (_disposed)
            {
                return false;
            }

            int pending;
            while ((pending = (int)Interop.BIO_ctrl_pending(_writeBio)) > 0)
            {
                var memory = _output.GetMemory(pending);
                int read;
                fixed (byte* pointer = memory.Span)
                {
                    read = Interop.BIO_read(_writeBio, pointer, Math.Min(pending, memory.Length));
                }

                if (read <= 0)
                {
                    break;
                }

                _output.Advance(read);
                written = true;
            }
        }

        return written;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static nint GetBio(SafeSslHandle ssl, bool read) =>
        read ? Interop.SSL_get_rbio(ssl.DangerousGetHandle()) : Interop.SSL_get_wbio(ssl.DangerousGetHandle());
}

/// <summary>The parameters of a completed handshake.</summary>
internal readonly record struct TlsSessionInfo(
    byte[]? ApplicationProtocol,
    int ProtocolVersion,
    ushort CipherSuite,
    string HostName,
    bool Resumed);

/// <summary>A TLS handshake that did not complete, with the reason it is counted under.</summary>
internal sealed class TlsHandshakeException(TlsHandshakeFailureReason reason, string detail)
    : Exception($"TLS handshake failed: {detail}")
{
    public TlsHandshakeFailureReason Reason { get; } = reason;

    public string Detail { get; } = detail;
}
