using System.Text;

namespace Tandem.Vrrp.Notifications;

/// <summary>
/// The last bytes a notify command wrote to one of its pipes. Everything before them is read and dropped, so a
/// command that writes without end costs a fixed amount of memory.
/// </summary>
internal sealed class OutputTail
{
    private readonly byte[] _buffer;
    private readonly Lock _lock = new();
    private int _length;

    public OutputTail(int capacity) => _buffer = new byte[capacity];

    /// <summary>
    /// Reads the stream until end of file or until <paramref name="cancellationToken"/> is cancelled. Cancellation, a
    /// broken pipe and a disposed stream end the read quietly, because the run's result does not depend on its output.
    /// </summary>
    public async Task ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var chunk = new byte[_buffer.Length];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
            {
                Append(chunk.AsSpan(0, read));
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended while a child process still held the pipe open.
        }
        catch (IOException)
        {
            // The pipe broke; the output kept so far is enough for the log.
        }
        catch (ObjectDisposedException)
        {
            // The process was disposed while a read was pending.
        }
    }

    /// <summary>Decodes the kept bytes as UTF-8; a character cut at the start shows as U+FFFD.</summary>
    public override string ToString()
    {
        lock (_lock)
        {
            return Encoding.UTF8.GetString(_buffer, 0, _length);
        }
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            if (data.Length >= _buffer.Length)
            {
                data[^_buffer.Length..].CopyTo(_buffer);
                _length = _buffer.Length;
                return;
            }

            var overflow = _length + data.Length - _buffer.Length;
            if (overflow > 0)
            {
                Buffer.BlockCopy(_buffer, overflow, _buffer, 0, _length - overflow);
                _length -= overflow;
            }

            data.CopyTo(_buffer.AsSpan(_length));
            _length += data.Length;
        }
    }
}
