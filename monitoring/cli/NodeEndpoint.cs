using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Tandem.Monitoring.Cli;

/// <summary>A node's management listener as HOST:PORT, for example <c>127.0.0.1:9901</c> or <c>[::1]:9901</c>.</summary>
internal sealed record NodeEndpoint(string Host, int Port)
{
    public const string Default = "127.0.0.1:9901";

    public Uri Address => new($"http://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}");

    public static bool TryParse(string text, [NotNullWhen(true)] out NodeEndpoint? endpoint)
    {
        endpoint = null;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
            if (!IPAddress.TryParse(host, out _))
            {
                return false;
            }
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            // An IPv6 address needs brackets, or its last group would read as the port.
            return false;
        }

        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return false;
        }

        endpoint = new NodeEndpoint(host, port);
        return true;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}");
}
