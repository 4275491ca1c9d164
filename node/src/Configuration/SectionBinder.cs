using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Tandem.Node.Configuration;

/// <summary>
/// Binds a configuration section to an options object one setting at a time, so that every unknown or unconvertible
/// setting becomes its own error instead of the first one stopping the binder.
/// </summary>
internal static class SectionBinder
{
    public static T Bind<T>(IConfigurationSection section, List<string> errors)
        where T : new() =>
        BindExcept<T>(section, errors, []);

    /// <summary>Binds like <see cref="Bind"/>, but skips the keys that the caller reads itself.</summary>
    /// <param name="keysReadElsewhere">Keys of the section that are neither bound nor reported as unknown.</param>
    public static T BindExcept<T>(IConfigurationSection section, List<string> errors, IReadOnlyCollection<string> keysReadElsewhere)
        where T : new()
    {
        var options = new T();
        var properties = typeof(T)
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => property.CanWrite)
            .ToDictionary(property => property.Name, StringComparer.OrdinalIgnoreCase);
        var otherKeys = keysReadElsewhere;

        foreach (var child in section.GetChildren())
        {
            if (otherKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!properties.TryGetValue(child.Key, out var property))
            {
                var settings = properties.Keys.Concat(otherKeys).Order(StringComparer.Ordinal);
                errors.Add(
                    $"{child.Path} is not a setting of {section.Path}. Check the spelling. The settings are " +
                    $"{string.Join(", ", settings)}.");
                continue;
            }

            if (property.PropertyType == typeof(List<string>))
            {
                property.SetValue(options, ReadList(child));
                continue;
            }

            if (IsListOfSections(property.PropertyType, out var elementType))
            {
                property.SetValue(options, BindList(child, elementType, errors));
                continue;
            }

            if (child.Value is null)
            {
                errors.Add($"{child.Path} must be a single value, not a section. Set it to a {Describe(property.PropertyType)}.");
                continue;
            }

            try
            {
                property.SetValue(options, Convert(child.Value, property.PropertyType));
            }
            catch (FormatException)
            {
                errors.Add($"{child.Path}: '{child.Value}' is not a valid {Describe(property.PropertyType)}. Set a {Describe(property.PropertyType)}.");
            }
            catch (OverflowException)
            {
                errors.Add($"{child.Path}: '{child.Value}' is out of range for a {Describe(property.PropertyType)}.");
            }
        }

        return options;
    }

    private static bool IsListOfSections(Type type, out Type elementType)
    {
        elementType = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>)
            ? type.GetGenericArguments()[0]
            : typeof(void);
        return elementType.IsClass && elementType != typeof(string) && elementType.GetConstructor(Type.EmptyTypes) is not null;
    }

    /// <summary>Binds each child of a JSON array, such as <c>Proxy:Certificates:0</c>, to a new element.</summary>
    private static System.Collections.IList BindList(IConfigurationSection section, Type elementType, List<string> errors)
    {
        var list = (System.Collections.IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(elementType))!;
        var bind = typeof(SectionBinder).GetMethod(nameof(Bind))!.MakeGenericMethod(elementType);
        var children = section.GetChildren()
            .OrderBy(child => int.TryParse(child.Key, CultureInfo.InvariantCulture, out var index) ? index : int.MaxValue);
        foreach (var child in children)
        {
            if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                errors.Add($"{child.Path} is not an array entry. Write {section.Path} as a JSON array, or use keys 0, 1 and so on.");
                continue;
            }

            list.Add(bind.Invoke(null, [child, errors]));
        }

        return list;
    }

    internal static List<string> ReadList(IConfigurationSection section)
    {
        // A JSON array binds as children "0", "1" and so on. A plain value, for example from an environment
        // variable, counts as a list of one unless it is empty.
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            return string.IsNullOrWhiteSpace(section.Value) ? [] : [section.Value];
        }

        return children
            .OrderBy(child => int.TryParse(child.Key, CultureInfo.InvariantCulture, out var index) ? index : int.MaxValue)
            .Select(child => child.Value ?? "")
            .ToList();
    }

    private static object Convert(string value, Type type)
    {
        if (type == typeof(string))
        {
            return value;
        }

        if (type == typeof(int))
        {
            return int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture);
        }

        if (type == typeof(bool))
        {
            return bool.Parse(value);
        }

        throw new NotSupportedException($"Settings of type {type} are not supported by {nameof(SectionBinder)}.");
    }

    private static string Describe(Type type)
    {
        if (type == typeof(int))
        {
            return "whole number";
        }

        return type == typeof(bool) ? "boolean (true or false)" : "string";
    }
}
