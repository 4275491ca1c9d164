using System.Net;
using System.Net.Sockets;
using Tandem.Node.Hosting;
using Tandem.Node.Tests.Support;

namespace Tandem.Node.Tests.Hosting;

public sealed class NodeCommandsTests : IDisposable
{
    private readonly TestCertificate _certificate = TestCertificate.Create();
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    public void Dispose() => _certificate.Dispose();

    [Fact]
    public async Task Run_BadUsage_PrintsUsageAndExits2()
    {
        var exitCode = await NodeCommands.RunAsync(["--confg", "node.json"], _output, _error);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("Unknown argument '--confg'.", _error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Usage:", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_MissingConfigFile_Exits78()
    {
        var path = Path.Combine(_certificate.Directory, "missing.json");

        var exitCode = await NodeCommands.RunAsync(["--config", path], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        Assert.Contains(path, _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_MissingRelativeConfigFile_ShowsBothPaths()
    {
        var relative = Path.Combine("tandem", $"nope-{Guid.NewGuid():N}.json");

        var exitCode = await NodeCommands.RunAsync(["--config", relative], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        Assert.Equal(
            $"tandem-node: the configuration file '{relative}' (resolved to '{Path.GetFullPath(relative)}') was not found. " +
            $"Check the path given with --config. A relative path is resolved from the current directory, " +
            $"'{Environment.CurrentDirectory}'.{Environment.NewLine}",
            _error.ToString());
    }

    [Fact]
    public async Task Run_MalformedJson_ReportsLineAndPosition()
    {
        var path = WriteConfig("{\n  \"Proxy\": {\n    \"Port\": 443\n  }\n  \"Node\": {}\n}\n");

        var exitCode = await NodeCommands.RunAsync(["--config", path], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        var printed = _error.ToString();
        Assert.Contains($"the configuration file '{path}' is not valid JSON: line 5, position 3.", printed, StringComparison.Ordinal);
        Assert.Contains("a missing comma", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("--config", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_DuplicateJsonKey_ReportsKey()
    {
        var path = WriteConfig("""{ "Node": { "Name": "a", "Name": "b" } }""");

        var exitCode = await NodeCommands.RunAsync(["--config", path], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        Assert.Contains($"the configuration file '{path}' is invalid:", _error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Node:Name", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_InvalidConfig_PrintsEveryErrorAndExits78()
    {
        var path = WriteConfig($$"""
            {
              "Proxy": { "Address": "127.0.0.1", "Port": 0, "CertificatePath": "{{_certificate.CertificatePath}}", "KeyPath": "" },
              "Vrrp": { "Interface": "lo", "VirtualRouterId": 300, "Priority": 150, "VirtualAddresses": [ "198.51.100.100/24" ] },
              "ReverseProxy": { "Routes": { "all": { "ClusterId": "missing", "Match": { "Path": "{**catch-all}" } } },
                                "Clusters": { "backends": { "Destinations": { "b1": { "Address": "http://127.0.0.1:1/" } } } } }
            }
            """);

        var exitCode = await NodeCommands.RunAsync(["--config", path], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        var printed = _error.ToString();
        Assert.Contains("error: Proxy:Port: 0 is out of range", printed, StringComparison.Ordinal);
        Assert.Contains("error: Proxy:KeyPath is missing", printed, StringComparison.Ordinal);
        Assert.Contains("error: Vrrp:VirtualRouterId 300 is out of range", printed, StringComparison.Ordinal);
        Assert.Contains("error: SessionStore:Redis is empty, but VRRP is on", printed, StringComparison.Ordinal);
        Assert.Contains("error: ReverseProxy:Routes:all:ClusterId: cluster 'missing' is not defined", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_PortClashAndProxyError_ReportsBoth()
    {
        var path = WriteConfig($$"""
            {
              "Proxy": { "Address": "127.0.0.1", "Port": 8443, "CertificatePath": "{{_certificate.CertificatePath}}", "KeyPath": "" },
              "Management": { "Port": 8443 },
              "ReverseProxy": { "Routes": { "all": { "ClusterId": "backends", "Match": { "Path": "{**catch-all}" } } },
                                "Clusters": { "backends": { "Destinations": { "b1": { "Address": "http://127.0.0.1:1/" } } } } }
            }
            """);

        var exitCode = await NodeCommands.RunAsync(["--config", path], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        var printed = _error.ToString();
        Assert.Contains("error: Proxy:KeyPath is missing", printed, StringComparison.Ordinal);
        Assert.Contains("error: Management:Port: 8443 is also Proxy:Port", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Release_VrrpSettingsWithoutInterface_Exits78()
    {
        var path = WriteConfig("""{ "Vrrp": { "VirtualRouterId": 51, "VirtualAddresses": [ "198.51.100.100/24" ] } }""");

        var exitCode = await NodeCommands.RunAsync(["release", "--config", path], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        Assert.Contains("error: Vrrp:Interface is empty, so VRRP is off", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_MisspelledSection_Exits78()
    {
        var path = WriteConfig($$"""
            {
              "Proxy": { "Address": "127.0.0.1", "Port": 8443, "CertificatePath": "{{_certificate.CertificatePath}}", "KeyPath": "{{_certificate.KeyPath}}" },
              "Vrpp": { "Interface": "eth0" },
              "Kestrel": { "Endpoints": { "Http": { "Url": "http://127.0.0.1:8080" } } },
              "AllowedHosts": "*",
              "ReverseProxy": { "Routes": { "all": { "ClusterId": "backends", "Match": { "Path": "{**catch-all}" } } },
                                "Clusters": { "backends": { "Destinations": { "b1": { "Address": "http://127.0.0.1:1/" } } } } }
            }
            """);

        var exitCode = await NodeCommands.RunAsync(["--config", path, "--Mangement:Port=0"], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        var printed = _error.ToString();
        Assert.Contains("error: Vrpp is not a section that the node reads. Check the spelling.", printed, StringComparison.Ordinal);
        Assert.Contains("error: Mangement is not a section that the node reads.", printed, StringComparison.Ordinal);
        Assert.Contains("error: Kestrel is not supported", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("AllowedHosts is not", printed, StringComparison.Ordinal);
        Assert.Contains("3 error(s)", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Release_MisspelledSection_Exits78()
    {
        var path = WriteConfig("""{ "Vrpp": { "Interface": "eth0", "VirtualRouterId": 51 } }""");

        var exitCode = await NodeCommands.RunAsync(["release", "--config", path], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        Assert.Contains("error: Vrpp is not a section that the node reads.", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_CommandLineOverride_WinsOverFile()
    {
        var path = WriteConfig($$"""
            { "Proxy": { "Port": 443, "CertificatePath": "{{_certificate.CertificatePath}}", "KeyPath": "{{_certificate.KeyPath}}" } }
            """);

        var exitCode = await NodeCommands.RunAsync(["--config", path, "--Proxy:Port=70000"], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        Assert.Contains("Proxy:Port: 70000 is out of range", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ProxyPortInUse_PrintsOneLineAndExits1()
    {
        using var occupied = new TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        var port = ((IPEndPoint)occupied.LocalEndpoint).Port;
        var path = WriteConfig($$"""
            {
              "Proxy": { "Address": "127.0.0.1", "Port": {{port}}, "CertificatePath": "{{_certificate.CertificatePath}}", "KeyPath": "{{_certificate.KeyPath}}" },
              "Management": { "Port": 0, "MetricsPort": 0 },
              "Logging": { "LogLevel": { "Default": "None" } },
              "ReverseProxy": { "Routes": { "all": { "ClusterId": "backends", "Match": { "Path": "{**catch-all}" } } },
                                "Clusters": { "backends": { "Destinations": { "b1": { "Address": "http://127.0.0.1:1/" } } } } }
            }
            """);

        var exitCode = await NodeCommands.RunAsync(["--config", path], _output, _error);

        Assert.Equal(ExitCodes.Failure, exitCode);
        var line = Assert.Single(_error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"tandem-node: Proxy:Address, Proxy:Port: the proxy listener cannot listen on 127.0.0.1 port {port} (", line, StringComparison.Ordinal);
        Assert.Contains("address already in use", line, StringComparison.Ordinal);
        Assert.Contains("set Proxy:Port to a free port", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Release_VrrpOff_Exits0()
    {
        var path = WriteConfig("""{ "Vrrp": { "Interface": "" } }""");

        var exitCode = await NodeCommands.RunAsync(["release", "--config", path], _output, _error);

        Assert.Equal(ExitCodes.Success, exitCode);
    }

    [Fact]
    public async Task Release_InvalidVrrpSection_Exits78()
    {
        var path = WriteConfig("""{ "Vrrp": { "Interface": "lo", "VirtualRouterId": 51, "VirtualAddresses": [ "nonsense" ] } }""");

        var exitCode = await NodeCommands.RunAsync(["release", "--config", path], _output, _error);

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        Assert.Contains("Vrrp:VirtualAddresses:0 'nonsense'", _error.ToString(), StringComparison.Ordinal);
    }

    private string WriteConfig(string json)
    {
        var path = Path.Combine(_certificate.Directory, $"node-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}
