using Tandem.Node.Hosting;

namespace Tandem.Node.Tests.Hosting;

public sealed class NodeCommandLineTests
{
    [Fact]
    public void Parse_Config_RunsNode()
    {
        var commandLine = NodeCommandLine.Parse(["--config", "/etc/tandem/node.json"]);

        Assert.Equal(NodeCommandKind.Run, commandLine.Kind);
        Assert.Equal("/etc/tandem/node.json", commandLine.ConfigPath);
        Assert.Empty(commandLine.Overrides);
    }

    [Fact]
    public void Parse_ConfigWithEquals_RunsNode()
    {
        var commandLine = NodeCommandLine.Parse(["--config=node.json"]);

        Assert.Equal(NodeCommandKind.Run, commandLine.Kind);
        Assert.Equal("node.json", commandLine.ConfigPath);
    }

    [Fact]
    public void Parse_Release_ReleasesWithOverrides()
    {
        var commandLine = NodeCommandLine.Parse(["release", "--config", "node.json", "--Vrrp:Interface=eth1"]);

        Assert.Equal(NodeCommandKind.Release, commandLine.Kind);
        Assert.Equal(["--Vrrp:Interface=eth1"], commandLine.Overrides);
    }

    [Fact]
    public void Parse_OverrideWithSeparateValue_KeepsBoth()
    {
        var commandLine = NodeCommandLine.Parse(["--Proxy:Port", "8443", "--config", "node.json"]);

        Assert.Equal(NodeCommandKind.Run, commandLine.Kind);
        Assert.Equal(["--Proxy:Port", "8443"], commandLine.Overrides);
    }

    [Theory]
    [InlineData(new string[0], "--config PATH is required.")]
    [InlineData(new[] { "--config" }, "--config needs a file path.")]
    [InlineData(new[] { "--config", "--Proxy:Port=1" }, "--config needs a file path.")]
    [InlineData(new[] { "--config=" }, "--config needs a file path.")]
    [InlineData(new[] { "--config", "a.json", "--config", "b.json" }, "--config is given more than once.")]
    [InlineData(new[] { "--confg", "a.json" }, "Unknown argument '--confg'.")]
    [InlineData(new[] { "start", "--config", "a.json" }, "Unknown argument 'start'.")]
    [InlineData(new[] { "--config", "a.json", "--Proxy:Port" }, "--Proxy:Port needs a value.")]
    public void Parse_BadUsage_ReportsError(string[] args, string expected)
    {
        var commandLine = NodeCommandLine.Parse(args);

        Assert.Equal(NodeCommandKind.Invalid, commandLine.Kind);
        Assert.Equal(expected, commandLine.Error);
    }

    [Fact]
    public void Parse_Help_ShowsUsage()
    {
        Assert.Equal(NodeCommandKind.Help, NodeCommandLine.Parse(["--help"]).Kind);
    }
}
