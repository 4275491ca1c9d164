using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tandem.Node.Tests.Support;

/// <summary>
/// A plain-HTTP backend on 127.0.0.1 and a free port. It responds to every request with its name, the forwarded
/// headers and the <c>X-Test-Text</c> header it received, one <c>Name: value</c> line each. It also returns
/// <c>X-Test-Text</c> as a response header.
/// </summary>
public sealed class TestBackend : IAsyncDisposable
{
    private static readonly string[] EchoedHeaders =
        [
            "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix", "X-Real-IP", "Forwarded",
            "X-Test-Text",
        ];

    private readonly WebApplication _app;

    private TestBackend(WebApplication app, string name, string address)
    {
        _app = app;
        Name = name;
        Address = address;
    }

    public string Name { get; }

    /// <summary>Base address such as <c>http://127.0.0.1:40123/</c>.</summary>
    public string Address { get; }

    public static async Task<TestBackend> StartAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);

            // Sends an echoed X-Test-Text back as UTF-8, which Kestrel otherwise rejects outside ASCII.
            kestrel.ResponseHeaderEncodingSelector = _ => Encoding.UTF8;
        });

        var app = builder.Build();
        app.Run(async context =>
        {
            var lines = new List<string> { $"Name: {name}" };
            foreach (var header in EchoedHeaders)
            {
                if (context.Request.Headers.TryGetValue(header, out var values))
                {
                    lines.Add($"{header}: {values}");
                }
            }

            if (context.Request.Headers.TryGetValue("X-Test-Text", out var text))
            {
                context.Response.Headers["X-Test-Text"] = text;
            }

            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(string.Join('\n', lines));
        });

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new TestBackend(app, name, address.TrimEnd('/') + "/");
    }

    /// <summary>Parses a backend response into header name and value pairs; the backend's name is under <c>Name</c>.</summary>
    public static Dictionary<string, string> ParseEcho(string body) =>
        body.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(": ", 2))
            .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.OrdinalIgnoreCase);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
