using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;

namespace Tandem.Node.Tls.OpenSsl;

/// <summary>
/// Kestrel connection middleware that terminates TLS with OpenSSL in place of <c>UseHttps</c>, so session tickets
/// use the cluster's shared keys. It runs the handshake, publishes the TLS features, and hands the plaintext pipe to
/// the rest of the connection pipeline.
/// </summary>
/// <remarks>
/// Like Kestrel's own HTTPS middleware, a failed handshake is the client's problem: it is counted by reason, logged
/// at most once per reason every 30 seconds, and the connection is closed. No exception escapes.
/// </remarks>
internal sealed partial class OpenSslTlsMiddleware
{
    /// <summary>The same limit as Kestrel's default <c>HttpsConnectionAdapterOptions.HandshakeTimeout</c>.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan FailureLogInterval = TimeSpan.FromSeconds(30);

    private readonly ConnectionDelegate _next;
    private readonly OpenSslServerContext _context;
    private readonly TlsMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly long[] _lastLogged = new long[Enum.GetValues<TlsHandshakeFailureReason>().Length];
    private readonly long[] _suppressed = new long[Enum.GetValues<TlsHandshakeFailureReason>().Length];

    public OpenSslTlsMiddleware(
        ConnectionDelegate next,
        OpenSslServerContext context,
        TlsMetrics metrics,
        TimeProvider timeProvider,
        ILogger logger)
    {
        _next = next;
        _context = context;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        Array.Fill(_lastLogged, long.MinValue);
    }

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        OpenSslStream stream;
        try
        {
            stream = new OpenSslStream(_context.CreateConnection(), connection.Transport);
        }
        catch (InvalidOperationException exception)
        {
            // SSL_new or BIO_new failed, normally for lack of memory: drop this connection rather than the process.
            OnFailure(connection, TlsHandshakeFailureReason.TransportError, exception.Message);
            return;
        }

        await using (stream)
        {
            if (!await TryHandshakeAsync(connection, stream))
            {
                return;
            }

            var session = stream.GetSessionInfo();
            _metrics.RecordHandshake(session.Resumed);
            var features = new OpenSslTlsFeatures(session);
            connection.Features.Set<ITlsConnectionFeature>(features);
            connection.Features.Set<ITlsApplicationProtocolFeature>(features);
            connection.Features.Set<ITlsHandshakeFeature>(features);

            var transport = connection.Transport;
            var plaintext = new DuplexPipe(
                PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)),
                PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true)));
            connection.Transport = plaintext;
            try
            {
                await _next(connection);
                await ShutdownAsync(stream);
            }
            finally
            {
                await plaintext.Input.CompleteAsync();
                await plaintext.Output.CompleteAsync();
                connection.Transport = transport;
            }
        }
    }

    private async Task<bool> TryHandshakeAsync(ConnectionContext connection, OpenSslStream stream)
    {
        using var timeout = new CancellationTokenSource(HandshakeTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, connection.ConnectionClosed);
        try
        {
            await stream.HandshakeAsync(linked.Token);
            return true;
        }
        catch (TlsHandshakeException exception)
        {
            OnFailure(connection, exception.Reason, exception.Detail);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            OnFailure(connection, TlsHandshakeFailureReason.Timeout, $"no handshake within {HandshakeTimeout.TotalSeconds} s");
        }
        catch (OperationCanceledException)
        {
            OnFailure(connection, TlsHandshakeFailureReason.ClientClosed, "connection closed during the handshake");
        }
        catch (Exception exception) when (exception is IOException or ConnectionResetException or ObjectDisposedException)
        {
            OnFailure(connection, TlsHandshakeFailureReason.TransportError, exception.GetType().Name);
        }

        return false;
    }

    private static async Task ShutdownAsync(OpenSslStream stream)
    {
        try
        {
            await stream.ShutdownAsync(CancellationToken.None);
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The client has gone or Kestrel completed the transport first, so there is no one to tell.
        }
    }

    private void OnFailure(ConnectionContext connection, TlsHandshakeFailureReason reason, string detail)
    {
        _metrics.RecordFailure(reason);

        var now = _timeProvider.GetTimestamp();
        var index = (int)reason;
        var last = Interlocked.Read(ref _lastLogged[index]);
        if (last != long.MinValue && _timeProvider.GetElapsedTime(last, now) < FailureLogInterval)
        {
            Interlocked.Increment(ref _suppressed[index]);
            return;
        }

        if (Interlocked.CompareExchange(ref _lastLogged[index], now, last) != last)
        {
            Interlocked.Increment(ref _suppressed[index]);
            return;
        }

        var suppressed = Interlocked.Exchange(ref _suppressed[index], 0);
        Log.HandshakeFailed(_logger, connection.RemoteEndPoint?.ToString() ?? "unknown", reason, detail, suppressed);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    private static partial class Log
    {
        [LoggerMessage(TlsEventIds.HandshakeFailed, LogLevel.Information,
            "TLS handshake from {RemoteEndPoint} failed with {Reason} ({Detail}). {SuppressedCount} failures with this " +
            "reason since the previous message were not logged")]
        public static partial void HandshakeFailed(
            ILogger logger,
            string remoteEndPoint,
            TlsHandshakeFailureReason reason,
            string detail,
            long suppressedCount);
    }
}
