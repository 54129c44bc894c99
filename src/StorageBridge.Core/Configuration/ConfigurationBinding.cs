using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace StorageBridge.Configuration;

/// <summary>
/// Binds a configuration section onto an options object with the configuration binder; a value that does not convert
/// fails with a <see cref="StorageBridgeConfigurationException"/> naming the full key (StorageBridge:Targets:x:PartSize).
/// </summary>
public static class ConfigurationBinding
{
    /// <param name="section">The section whose keys match the options' property names.</param>
    /// <param name="options">The options object (its defaults stay where the section has no value).</param>
    /// <param name="except">Keys the caller binds itself (they are left alone here).</param>
    public static void Bind(IConfigurationSection section, object options, params string[] except)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(except);
        try
        {
            // Key by key rather than section.Bind: a key whose value is null or blank (JSON null, an empty environment
            // variable) keeps the default instead of becoming default(T) or an error, as with the earlier hand parsing.
            foreach (var child in section.GetChildren())
            {
                if (except.Contains(child.Key, StringComparer.OrdinalIgnoreCase)
                    || options.GetType().GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is not { } property
                    || (child.Value is { } text && string.IsNullOrWhiteSpace(text)))
                {
                    continue;
                }

                if (child.Value is null)
                {
                    if (property.GetValue(options) is { } nested && child.GetChildren().Any())
                    {
                        child.Bind(nested);
                    }
                }
                else if (property.SetMethod is { IsPublic: true })
                {
                    property.SetValue(options, child.Get(property.PropertyType));
                }
            }
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the path only inside its message; find the property whose value does not convert.
            throw FindBadValue(section, options.GetType()) ?? new StorageBridgeConfigurationException(section.Path, ex.Message);
        }
    }

    private static StorageBridgeConfigurationException? FindBadValue(IConfigurationSection section, Type type)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is not { IsPublic: true } || section[property.Name] is not { } raw)
            {
                continue;
            }

            var converter = TypeDescriptor.GetConverter(property.PropertyType);
            if (!converter.CanConvertFrom(typeof(string)))
            {
                continue;
            }

            try
            {
                converter.ConvertFromInvariantString(raw);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or NotSupportedException or OverflowException || ex.InnerException is FormatException)
            {
                return new StorageBridgeConfigurationException(Key(section, property.Name), Describe(property.PropertyType, raw, ex));
            }
        }

        return null;
    }

    private static string Describe(Type type, string raw, Exception error)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(bool))
        {
            return $"'{raw}' is not true or false.";
        }

        if (underlying == typeof(int) || underlying == typeof(long))
        {
            return $"'{raw}' is not a whole number.";
        }

        if (underlying.IsEnum)
        {
            return $"'{raw}' is not one of {string.Join(", ", Enum.GetNames(underlying))}.";
        }

        return (error.InnerException as FormatException ?? error).Message;
    }

    /// <summary>The full key of a value under a section: <c>{section.Path}:{name}</c>.</summary>
    public static string Key(IConfigurationSection section, string name)
    {
        ArgumentNullException.ThrowIfNull(section);
        return $"{section.Path}:{name}";
    }

    /// <summary>The full key of a value under a section path (empty path: the name alone).</summary>
    public static string Key(string sectionPath, string name) =>
        string.IsNullOrEmpty(sectionPath) ? name : string.Create(CultureInfo.InvariantCulture, $"{sectionPath}:{name}");
}
