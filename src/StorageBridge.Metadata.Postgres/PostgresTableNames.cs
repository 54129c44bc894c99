namespace StorageBridge.Metadata.Postgres;

/// <summary>The store's quoted, schema-qualified table names (schema and prefix are validated to plain identifiers first).</summary>
internal sealed class PostgresTableNames
{
    /// <summary>The longest table name the store appends to the prefix; PostgreSQL truncates identifiers past 63 bytes.</summary>
    public const int LongestTableName = 14; // "schema_version"

    public const int MaxIdentifierLength = 63;

    public PostgresTableNames(string schema, string prefix)
    {
        if (!IsIdentifier(schema, allowEmpty: false) || !IsIdentifier(prefix, allowEmpty: true) || prefix.Length + LongestTableName > MaxIdentifierLength)
        {
            throw new ArgumentException($"'{schema}'/'{prefix}' is not a valid schema name and table prefix (letters, digits and '_').");
        }

        Schema = Quote(schema);
        Uploads = $"{Schema}.{Quote(prefix + "uploads")}";
        Lookups = $"{Schema}.{Quote(prefix + "lookups")}";
        SchemaVersion = $"{Schema}.{Quote(prefix + "schema_version")}";
        UploadsExpiryIndex = Quote(prefix + "uploads_expires_at");
        LookupsExpiryIndex = Quote(prefix + "lookups_expires_at");
        UploadsEventsDueIndex = Quote(prefix + "uploads_due_at");
        LockName = $"{schema}.{prefix}";
    }

    public string Schema { get; }

    public string Uploads { get; }

    public string Lookups { get; }

    public string SchemaVersion { get; }

    public string UploadsExpiryIndex { get; }

    public string LookupsExpiryIndex { get; }

    public string UploadsEventsDueIndex { get; }

    /// <summary>Names the advisory lock that serializes migrations of this schema and prefix.</summary>
    public string LockName { get; }

    /// <summary>Letters, digits and '_' (not first for a schema), at most 63 characters: safe to quote and never folded.</summary>
    public static bool IsIdentifier(string? value, bool allowEmpty) =>
        value is not null
        && (value.Length == 0 ? allowEmpty : value.Length <= MaxIdentifierLength && (allowEmpty || !char.IsAsciiDigit(value[0])))
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static string Quote(string identifier) => "\"" + identifier + "\"";
}
