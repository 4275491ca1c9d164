// A stand-in for an application server behind the proxy. Every request, whatever its path, gets
// a JSON body naming this backend and echoing the forwarding headers it received, so the lab can
// see which backend responded, through which node, and which client details the proxy forwarded.
//
// Usage: tandem-lab-backend --name backend-1 --urls http://198.51.100.31:8080

using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.ConfigureHttpJsonOptions(options =>
{
    // The web defaults write properties in camelCase, but the lab reads snake_case, so set it here.
    options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
    options.SerializerOptions.TypeInfoResolverChain.Insert(0, BackendJsonContext.Default);
});

string? name = builder.Configuration["name"];
if (string.IsNullOrWhiteSpace(name))
{
    Console.Error.WriteLine("The backend name is missing: pass --name NAME, for example --name backend-1.");
    return 2;
}

var app = builder.Build();
app.Map("/{**path}", (HttpContext context) => Echo(name, context));
app.Run();
return 0;

static Ok<BackendReply> Echo(string name, HttpContext context)
{
    var headers = context.Request.Headers;
    return TypedResults.Ok(new BackendReply(
        Backend: name,
        Peer: context.Connection.RemoteIpAddress?.ToString(),
        Path: context.Request.Path.Value ?? "/",
        XForwardedFor: NullIfEmpty(headers["X-Forwarded-For"].ToString()),
        XForwardedProto: NullIfEmpty(headers["X-Forwarded-Proto"].ToString()),
        XForwardedHost: NullIfEmpty(headers["X-Forwarded-Host"].ToString()),
        XRealIp: NullIfEmpty(headers["X-Real-IP"].ToString())));
}

static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

/// <summary>The body of every backend response. <c>Peer</c> is the TCP peer, which is the proxy node.</summary>
internal sealed record BackendReply(
    string Backend,
    string? Peer,
    string Path,
    string? XForwardedFor,
    string? XForwardedProto,
    string? XForwardedHost,
    string? XRealIp);

[JsonSerializable(typeof(BackendReply))]
internal sealed partial class BackendJsonContext : JsonSerializerContext;
