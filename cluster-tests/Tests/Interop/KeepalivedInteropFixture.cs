using Microsoft.Extensions.Logging;
using Tandem.ClusterTests.Lab;

namespace Tandem.ClusterTests.Tests.Interop;

/// <summary>
/// One lab network with Redis for every case of <see cref="KeepalivedInteropTests"/>, built on first use so that a
/// machine without root or keepalived skips the cases without building anything. Removed after the last case.
/// </summary>
public sealed class KeepalivedInteropFixture : IAsyncDisposable
{
    private readonly SemaphoreSlim _createLock = new(1, 1);
    private ClusterLab? _lab;

    /// <summary>Returns the shared lab, creating it and starting Redis on the first call.</summary>
    /// <remarks>The node refuses to start with VRRP but without SessionStore:Redis, so Redis runs even though no test uses it.</remarks>
    public async Task<ClusterLab> GetLabAsync(ILogger logger, CancellationToken cancellationToken)
    {
        await _createLock.WaitAsync(cancellationToken);
        try
        {
            if (_lab is null)
            {
                ClusterLab lab = await ClusterLab.CreateAsync(new ClusterLabOptions(), logger, TimeProvider.System, cancellationToken);
                try
                {
                    await lab.StartRedisAsync(cancellationToken);
                }
                catch
                {
                    await lab.DisposeAsync();
                    throw;
                }

                _lab = lab;
            }

            return _lab;
        }
        finally
        {
            _createLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_lab is not null)
        {
            await _lab.DisposeAsync();
        }

        _createLock.Dispose();
    }
}
