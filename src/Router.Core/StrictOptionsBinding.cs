using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Options binding that also reports the values the configuration binder leaves out without a word.</summary>
public static class StrictOptionsBinding
{
    /// <summary>
    /// <c>BindConfiguration(section)</c>, plus a check on start that nothing was dropped. The binder throws for a value it
    /// cannot convert in a plain property (<c>Router:MaxRequestBodyBytes=abc</c>), but it silently leaves out the whole
    /// dictionary entry or list element that holds one: <c>Router:Models:x:Tier=Ultra</c> would remove model <c>x</c> and
    /// start the router without it. Each such value now fails start-up with the binder's own message, which names the
    /// setting and the value.
    /// </summary>
    public static OptionsBuilder<TOptions> BindConfigurationStrictly<TOptions>(this OptionsBuilder<TOptions> builder, string section)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BindConfiguration(section);
        var name = builder.Name;
        builder.Services.AddSingleton<IValidateOptions<TOptions>>(provider =>
            new DroppedValuesValidator<TOptions>(name, provider.GetRequiredService<IConfiguration>().GetSection(section)));
        return builder.ValidateOnStart();
    }

    /// <summary>
    /// Every key inside a dictionary entry or list element of <paramref name="type"/> (a model, a provider, a tenant, a
    /// rule) that names no setting: the binder ignores it, so <c>Router:Tenants:acme:Qualty</c> or a misspelt rule
    /// condition would otherwise vanish, and a rule whose only condition is misspelt would match every request. Keys at
    /// the top of a section are not checked, since several options types share one section.
    /// </summary>
    internal static List<string> UnknownKeys(IConfiguration section, Type type)
    {
        var errors = new List<string>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var child = section.GetSection(KeyOf(property));
            if (property.GetIndexParameters().Length == 0 && child.Exists() && ElementType(property.PropertyType) is { } element && IsObject(element))
            {
                foreach (var item in child.GetChildren())
                {
                    CheckKeys(item, element, errors, depth: 0);
                }
            }
        }

        return errors;
    }

    private static void CheckKeys(IConfigurationSection section, Type type, List<string> errors, int depth)
    {
        if (depth > 8)
        {
            return;
        }

        var known = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .ToDictionary(KeyOf, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            if (!known.TryGetValue(child.Key, out var property))
            {
                errors.Add($"'{child.Path}' is not a setting; {section.Path} takes {string.Join(", ", known.Keys)}.");
            }
            else if (IsObject(property.PropertyType))
            {
                CheckKeys(child, property.PropertyType, errors, depth + 1);
            }
            else if (ElementType(property.PropertyType) is { } element && IsObject(element))
            {
                foreach (var item in child.GetChildren())
                {
                    CheckKeys(item, element, errors, depth + 1);
                }
            }
        }
    }

    private static string KeyOf(PropertyInfo property) =>
        property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? property.Name;

    /// <summary>The binder's message for every value under <paramref name="section"/> that binding <paramref name="type"/> drops.</summary>
    internal static List<string> DroppedValues(IConfiguration section, Type type)
    {
        var errors = new List<string>();
        Collect(section, type, errors, depth: 0);
        return errors;
    }

    private static void Collect(IConfiguration section, Type type, List<string> errors, int depth)
    {
        if (depth > 8)
        {
            return;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var child = section.GetSection(KeyOf(property));
            if (!child.Exists())
            {
                continue;
            }

            var element = ElementType(property.PropertyType);
            if (element is null)
            {
                // A nested object: the binder throws for its own values, but its collections can drop theirs.
                if (IsObject(property.PropertyType))
                {
                    Collect(child, property.PropertyType, errors, depth + 1);
                }

                continue;
            }

            foreach (var item in child.GetChildren())
            {
                try
                {
                    // Binding one element alone throws where binding the collection skipped it.
                    item.Get(element);
                }
                catch (InvalidOperationException ex)
                {
                    errors.Add(ex.Message);
                    continue;
                }

                if (IsObject(element))
                {
                    Collect(item, element, errors, depth + 1);
                }
            }
        }
    }

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string))
        {
            return null;
        }

        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (!type.IsGenericType)
        {
            return null;
        }

        var arguments = type.GetGenericArguments();
        if (arguments.Length == 2 && arguments[0] == typeof(string) && typeof(IEnumerable).IsAssignableFrom(type))
        {
            return arguments[1];   // Dictionary<string, T> and its interfaces
        }

        return arguments.Length == 1 && typeof(IEnumerable<>).MakeGenericType(arguments[0]).IsAssignableFrom(type) ? arguments[0] : null;
    }

    private static bool IsObject(Type type) =>
        type.IsClass && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type)
        && type.Namespace?.StartsWith("System", StringComparison.Ordinal) != true;

    private sealed class DroppedValuesValidator<TOptions>(string? name, IConfiguration section) : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? optionsName, TOptions options)
        {
            if (name is not null && name != optionsName)
            {
                return ValidateOptionsResult.Skip;
            }

            var errors = DroppedValues(section, typeof(TOptions));
            errors.AddRange(UnknownKeys(section, typeof(TOptions)));
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
