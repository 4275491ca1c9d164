using System.Collections.Concurrent;
using System.ComponentModel;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Tandem.ClusterTests.Lab.Native;

/// <summary>
/// Creates TCP sockets inside a named network namespace while the rest of the process stays in
/// its own. A socket keeps the namespace it was created in, so only the <c>socket()</c> call has
/// to happen there; connecting, TLS and I/O then run on any thread.
/// </summary>
/// <remarks>
/// A dedicated thread enters the namespace with setns(2), creates the socket and returns to its
/// original namespace before it completes the request. The thread therefore never runs other
/// code, starts a thread or forks a process while it is inside the lab namespace, and it holds
/// no reference that would keep the namespace alive after <c>ip netns del</c>.
/// </remarks>
public sealed class NamespaceSocketFactory : IDisposable
{
    private readonly string _namespacePath;
    private readonly BlockingCollection<TaskCompletionSource<Socket>> _requests = new();
    private readonly Thread _thread;
    private volatile string? _brokenReason;

    public NamespaceSocketFactory(string namespaceName)
    {
        NamespaceName = namespaceName;
        _namespacePath = Path.Combine("/var/run/netns", namespaceName);
        _thread = new Thread(Run) { IsBackground = true, Name = $"netns {namespaceName}" };
        _thread.Start();
    }

    public string NamespaceName { get; }

    /// <summary>Creates an unconnected IPv4 TCP socket in the namespace.</summary>
    public Task<Socket> CreateTcpSocketAsync()
    {
        // Continuations must not run on the namespace thread, which only ever creates sockets.
        var request = new TaskCompletionSource<Socket>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_brokenReason is { } reason)
        {
            request.SetException(new InvalidOperationException(reason));
            return request.Task;
        }

        try
        {
            _requests.Add(request);
        }
        catch (InvalidOperationException)
        {
            request.SetException(new ObjectDisposedException(nameof(NamespaceSocketFactory)));
        }

        return request.Task;
    }

    public void Dispose()
    {
        _requests.CompleteAdding();
        _thread.Join();
        _requests.Dispose();
    }

    private void Run()
    {
        using SafeFileHandle home = File.OpenHandle("/proc/thread-self/ns/net", FileMode.Open, FileAccess.Read);

        foreach (var request in _requests.GetConsumingEnumerable())
        {
            if (_brokenReason is { } reason)
            {
                request.SetException(new InvalidOperationException(reason));
                continue;
            }

            Socket? socket = null;
            Exception? failure = null;
            try
            {
                socket = CreateInNamespace(home);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or SocketException or Win32Exception)
            {
                failure = exception;
            }

            if (socket is not null)
            {
                request.SetResult(socket);
            }
            else
            {
                request.SetException(failure!);
            }
        }
    }

    private Socket CreateInNamespace(SafeFileHandle home)
    {
        using SafeFileHandle target = File.OpenHandle(_namespacePath, FileMode.Open, FileAccess.Read);
        Enter(target, _namespacePath);
        try
        {
            return new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        }
        finally
        {
            try
            {
                Enter(home, "/proc/thread-self/ns/net");
            }
            catch (Win32Exception exception)
            {
                // The thread is stuck in the lab namespace, so it must not serve later requests.
                _brokenReason = $"The socket thread could not return to its own network namespace: {exception.Message}";
            }
        }
    }

    private static void Enter(SafeFileHandle namespaceHandle, string path)
    {
        if (LibC.SetNamespace((int)namespaceHandle.DangerousGetHandle(), LibC.CloneNewNet) != 0)
        {
            int error = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new Win32Exception(error, $"setns({path}, CLONE_NEWNET) failed: {new Win32Exception(error).Message}");
        }
    }
}
