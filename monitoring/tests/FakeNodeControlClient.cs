using Grpc.Core;
using Tandem.Monitoring.V1;

namespace Tandem.Monitoring.Cli.Tests;

/// <summary>A NodeControl client that responds from memory and records the requests and their metadata.</summary>
internal sealed class FakeNodeControlClient(RpcException? failure = null) : NodeControl.NodeControlClient
{
    public List<(object Request, Metadata Headers)> Calls { get; } = [];

    public SwitchoverResponse SwitchoverResponse { get; init; } = new()
    {
        NewMaster = "198.51.100.12",
        Elapsed = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMilliseconds(612)),
        ConnectionsDrained = 3,
    };

    public SetMaintenanceResponse MaintenanceResponse { get; init; } = new() { Changed = true, State = VrrpState.Backup };

    public override AsyncUnaryCall<SwitchoverResponse> SwitchoverAsync(SwitchoverRequest request, CallOptions options) =>
        Respond(request, options, SwitchoverResponse);

    public override AsyncUnaryCall<SetMaintenanceResponse> SetMaintenanceAsync(SetMaintenanceRequest request, CallOptions options) =>
        Respond(request, options, MaintenanceResponse);

    private AsyncUnaryCall<T> Respond<T>(object request, CallOptions options, T response)
    {
        Calls.Add((request, options.Headers ?? []));
        var task = failure is null ? Task.FromResult(response) : Task.FromException<T>(failure);
        return new AsyncUnaryCall<T>(
            task,
            Task.FromResult(new Metadata()),
            () => failure?.Status ?? Status.DefaultSuccess,
            () => [],
            () => { });
    }
}
