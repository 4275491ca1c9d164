using System.Reflection;
using Microsoft.Extensions.Configuration;
using Yarp.ReverseProxy.Configuration;

namespace Tandem.Node.Hosting;

/// <summary>
/// Reports every key of the <c>ReverseProxy</c> section that YARP's configuration types have no property for. YARP's
/// own reader skips such keys, so a typo such as <c>Destinatons</c> would leave a cluster without destinations.
/// </summary>
/// <remarks>
/// The known names come from the properties of <see cref="RouteConfig"/>, <see cref="ClusterConfig"/> and the types
/// they contain, so they follow the YARP version the node is built with. <c>Metadata</c> and <c>Transforms</c> are
/// free-form and not checked.
/// </remarks>
internal static class ReverseProxyKeyCheck
{
    private const string RoutesKey = "Routes";
    private const string ClustersKey = "Clusters";

    private static readonly HashSet<string> FreeFormProperties =
        new([nameof(RouteConfig.Metadata), nameof(RouteConfig.Transforms)], StringComparer.OrdinalIgnoreCase);

    public static void Check(IConfigurationSection reverseProxy, List<string> errors)
    {
        foreach (var child in reverseProxy.GetChildren())
        {
            if (child.Key.Equals(RoutesKey, StringComparison.OrdinalIgnoreCase))
            {
                CheckEach(child, typeof(RouteConfig), errors);
            }
            else if (child.Key.Equals(ClustersKey, StringComparison.OrdinalIgnoreCase))
            {
                CheckEach(child, typeof(ClusterConfig), errors);
            }
            else
            {
                errors.Add($"{child.Path} is not a setting of {reverseProxy.Path}. Check the spelling. The settings are {ClustersKey}, {RoutesKey}.");
            }
        }
    }

    /// <summary>Checks each child of a dictionary or list section, such as the routes by id or a route's headers.</summary>
    private static void CheckEach(IConfigurationSection section, Type elementType, List<string> errors)
    {
        foreach (var element in section.GetChildren())
        {
            CheckObject(element, elementType, errors);
        }
    }

    private static void CheckObject(IConfigurationSection section, Type type, List<string> errors)
    {
        var properties = SettingsOf(type);
        foreach (var child in section.GetChildren())
        {
            if (!properties.TryGetValue(child.Key, out var property))
            {
                errors.Add(
                    $"{child.Path} is not a setting of YARP's {type.Name}. Check the spelling. The settings are " +
                    $"{string.Join(", ", properties.Keys.Order(StringComparer.Ordinal))}.");
                continue;
            }

            if (FreeFormProperties.Contains(property.Name))
            {
                continue;
            }

            if (IsConfigType(property.PropertyType))
            {
                CheckObject(child, property.PropertyType, errors);
            }
            else if (ElementConfigType(property.PropertyType) is { } elementType)
            {
                CheckEach(child, elementType, errors);
            }
        }
    }

    private static Dictionary<string, PropertyInfo> SettingsOf(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)

            // YARP takes the route and cluster ids from the section keys, never from a setting.
            .Where(property => !(type == typeof(RouteConfig) && property.Name == nameof(RouteConfig.RouteId))
                && !(type == typeof(ClusterConfig) && property.Name == nameof(ClusterConfig.ClusterId)))
            .ToDictionary(property => property.Name, StringComparer.OrdinalIgnoreCase);

    private static bool IsConfigType(Type type) =>
        type.IsClass && type != typeof(string) && type.Namespace == typeof(RouteConfig).Namespace;

    /// <summary>
    /// Returns the YARP configuration type of the values of a dictionary or list property, such as
    /// <see cref="DestinationConfig"/> for <see cref="ClusterConfig.Destinations"/>, or null for other properties.
    /// </summary>
    private static Type? ElementConfigType(Type type)
    {
        if (!type.IsGenericType)
        {
            return null;
        }

        var valueType = type.GetGenericArguments()[^1];
        return IsConfigType(valueType) ? valueType : null;
    }
}
