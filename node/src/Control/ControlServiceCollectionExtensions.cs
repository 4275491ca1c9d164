using Grpc.AspNetCore.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Tandem.Node.Monitoring;
using Tandem.Node.Transport;
using Tandem.Node.Vrrp;

namespace Tandem.Node.Control;

/// <summary>The parts of the node that the NodeControl service on the management listener needs.</summary>
internal sealed record NodeControlContext(ControlAccess Access, ProxyConnectionDrain Drain, VrrpHostedService? Vrrp, ProxyListenerGate? ListenerGate = null);

internal static class ControlServiceCollectionExtensions
{
    /// <summary>Health service name of NodeControl, as grpc.health.v1 clients ask for it.</summary>
    public const string NodeControlServiceName = "tandem.monitoring.v1.NodeControl";

    /// <summary>Name of the health check behind the NodeControl health status, registered only with a token.</summary>
    public const string ControlHealthCheckName = "node-control";

    private const string ControlTag = "control";

    /// <summary>
    /// Registers the proxy connection drain and the control context in the node's services. <paramref name="token"/>
    /// is null when <c>Management:ControlTokenFile</c> is not set, and control calls are then rejected.
    /// </summary>
    public static IServiceCollection AddNodeControl(this IServiceCollection services, ControlToken? token)
    {
        services.AddSingleton<ProxyConnectionDrain>();
        services.AddSingleton(new ControlAccess(token));
        services.AddSingleton(provider => new NodeControlContext(
            provider.GetRequiredService<ControlAccess>(),
            provider.GetRequiredService<ProxyConnectionDrain>(),
            provider.GetService<VrrpHostedService>(),
            provider.GetService<ProxyListenerGate>()));
        return services;
    }

    /// <summary>
    /// Registers NodeControl in the management listener's services, behind the allowed-networks check and then the
    /// bearer token check, in that order.
    /// </summary>
    public static IServiceCollection AddNodeControlService(this IServiceCollection managementServices, NodeControlContext control)
    {
        managementServices.AddSingleton(control.Access);
        managementServices.AddSingleton(control.Drain);
        if (control.Vrrp is not null)
        {
            managementServices.AddSingleton(control.Vrrp);
        }

        if (control.ListenerGate is not null)
        {
            managementServices.AddSingleton(control.ListenerGate);
        }

        managementServices.AddSingleton<ControlMetrics>();
        managementServices.AddSingleton<ControlAuthenticationInterceptor>();
        managementServices.AddGrpc().AddServiceOptions<NodeControlService>(options =>
        {
            options.Interceptors.Add<AllowedNetworksInterceptor>();
            options.Interceptors.Add<ControlAuthenticationInterceptor>();
        });

        // Without a token, control is off by configuration, which is the default and no fault. So the check is not
        // registered: it would report Unhealthy, and the health-check publisher would log an error every 30 seconds
        // (HealthCheckPublisherOptions.Period by default).
        // A grpc.health.v1 request for NodeControl then gets NOT_FOUND, the status the protocol returns for a service
        // that the server does not serve.
        if (control.Access.Token is null)
        {
            return managementServices;
        }

        // SERVING only when a call could succeed: a token is configured and the VRRP speaker runs.
        managementServices.Configure<GrpcHealthChecksOptions>(options =>
            options.Services.Map(NodeControlServiceName, result => result.Tags.Contains(ControlTag)));
        managementServices.AddHealthChecks().AddCheck(ControlHealthCheckName, () => CheckControl(control), tags: [ControlTag]);
        return managementServices;
    }

    // NOTE: with a token but VRRP off by configuration this stays Unhealthy, so the publisher still logs it at Error
    // every 30 seconds.
    private static HealthCheckResult CheckControl(NodeControlContext control) =>
        control.Vrrp?.Routers.Any(router => router.State != Tandem.Vrrp.VrrpState.Initialize) == true
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("VRRP is off or not running, so there is nothing to control.");
}
