using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace StorageBridge.AspNetCore.Http;

// RFC 9651 (Structured Field Values for HTTP) data model.
//
// Supported bare item types: Integer, Decimal, String, Token, Byte Sequence, Boolean, and the two
// RFC 9651 additions Date (@1659578233) and Display String (%"f%c3%bc"). All of them are parsed
// and serialized; callers that expect a specific type simply check SfBareItem.Type.
//
// The parser lives in StructuredFieldParser, the serializer in StructuredFieldWriter.

/// <summary>The type of an RFC 9651 bare item. <see cref="None"/> is only the value of <c>default(SfBareItem)</c>.</summary>
internal enum SfItemType : byte
{
    None = 0,
    Integer,
    Decimal,
    String,
    Token,
    ByteSequence,
    Boolean,
    Date,
    DisplayString,
}

/// <summary>
/// An RFC 9651 bare item. Immutable value type; Integer, Decimal, Boolean and Date values need no allocation.
/// Decimals are held exactly as a count of thousandths (RFC 9651 allows at most three fractional digits).
/// </summary>
internal readonly struct SfBareItem : IEquatable<SfBareItem>
{
    /// <summary>Largest Integer (15 digits).</summary>
    public const long MaxInteger = 999_999_999_999_999;

    /// <summary>Smallest Integer.</summary>
    public const long MinInteger = -MaxInteger;

    /// <summary>Largest Decimal magnitude (12 integer digits, 3 fractional digits).</summary>
    public const decimal MaxDecimal = 999_999_999_999.999m;

    private readonly long _number;
    private readonly object? _ref;

    private SfBareItem(SfItemType type, long number, object? reference)
    {
        Type = type;
        _number = number;
        _ref = reference;
    }

    public SfItemType Type { get; }

    /// <summary>Trusted constructor for the parser (values already validated).</summary>
    internal static SfBareItem Create(SfItemType type, long number, object? reference) => new(type, number, reference);

    /// <summary>Raw number: the Integer, the Date, the Boolean (0/1) or the Decimal in thousandths.</summary>
    internal long RawNumber => _number;

    internal object? RawReference => _ref;

    public static SfBareItem FromInteger(long value)
    {
        if (value is < MinInteger or > MaxInteger)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "RFC 9651 Integers have at most 15 digits.");
        }

        return new(SfItemType.Integer, value, null);
    }

    /// <summary>Creates a Decimal, rounding half to even to three fractional digits (RFC 9651 section 4.1.5).</summary>
    public static SfBareItem FromDecimal(decimal value)
    {
        var rounded = Math.Round(value, 3, MidpointRounding.ToEven);
        if (rounded is < -MaxDecimal or > MaxDecimal)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "RFC 9651 Decimals have at most 12 integer digits.");
        }

        return new(SfItemType.Decimal, (long)(rounded * 1000m), null);
    }

    /// <summary>Creates a String; only printable ASCII (0x20-0x7E) is allowed.</summary>
    public static SfBareItem FromString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!SfSyntax.IsValidString(value))
        {
            throw new ArgumentException("RFC 9651 Strings may only contain printable ASCII (use a Display String).", nameof(value));
        }

        return new(SfItemType.String, 0, value);
    }

    public static SfBareItem FromToken(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!SfSyntax.IsValidToken(value))
        {
            throw new ArgumentException("Not a valid RFC 9651 Token.", nameof(value));
        }

        return new(SfItemType.Token, 0, value);
    }

    /// <summary>Creates a Byte Sequence. The array is not copied.</summary>
    public static SfBareItem FromByteSequence(byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(SfItemType.ByteSequence, 0, value);
    }

    public static SfBareItem FromBoolean(bool value) => new(SfItemType.Boolean, value ? 1 : 0, null);

    /// <summary>Creates a Date (seconds since the Unix epoch, same range as Integer).</summary>
    public static SfBareItem FromDate(long unixSeconds)
    {
        if (unixSeconds is < MinInteger or > MaxInteger)
        {
            throw new ArgumentOutOfRangeException(nameof(unixSeconds), unixSeconds, "RFC 9651 Dates have at most 15 digits.");
        }

        return new(SfItemType.Date, unixSeconds, null);
    }

    /// <summary>Creates a Display String (any Unicode text without lone surrogates).</summary>
    public static SfBareItem FromDisplayString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!SfSyntax.IsWellFormedUtf16(value))
        {
            throw new ArgumentException("Display Strings must be valid Unicode.", nameof(value));
        }

        return new(SfItemType.DisplayString, 0, value);
    }

    public bool IsInteger => Type == SfItemType.Integer;

    public bool IsBoolean => Type == SfItemType.Boolean;

    public bool IsByteSequence => Type == SfItemType.ByteSequence;

    public long IntegerValue => Type == SfItemType.Integer ? _number : throw WrongType(SfItemType.Integer);

    public decimal DecimalValue => Type == SfItemType.Decimal ? _number / 1000m : throw WrongType(SfItemType.Decimal);

    public bool BooleanValue => Type == SfItemType.Boolean ? _number != 0 : throw WrongType(SfItemType.Boolean);

    /// <summary>Seconds since the Unix epoch.</summary>
    public long DateValue => Type == SfItemType.Date ? _number : throw WrongType(SfItemType.Date);

    public string StringValue => Type == SfItemType.String ? (string)_ref! : throw WrongType(SfItemType.String);

    public string TokenValue => Type == SfItemType.Token ? (string)_ref! : throw WrongType(SfItemType.Token);

    public string DisplayStringValue => Type == SfItemType.DisplayString ? (string)_ref! : throw WrongType(SfItemType.DisplayString);

    /// <summary>The decoded bytes (not a copy).</summary>
    public byte[] ByteSequenceValue => Type == SfItemType.ByteSequence ? (byte[])_ref! : throw WrongType(SfItemType.ByteSequence);

    public bool TryGetInteger(out long value)
    {
        value = _number;
        return Type == SfItemType.Integer;
    }

    public bool TryGetBoolean(out bool value)
    {
        value = _number != 0;
        return Type == SfItemType.Boolean;
    }

    public bool TryGetDecimal(out decimal value)
    {
        value = Type == SfItemType.Decimal ? _number / 1000m : 0m;
        return Type == SfItemType.Decimal;
    }

    public bool TryGetString([NotNullWhen(true)] out string? value)
    {
        value = Type == SfItemType.String ? (string)_ref! : null;
        return value is not null;
    }

    public bool TryGetToken([NotNullWhen(true)] out string? value)
    {
        value = Type == SfItemType.Token ? (string)_ref! : null;
        return value is not null;
    }

    public bool TryGetByteSequence([NotNullWhen(true)] out byte[]? value)
    {
        value = Type == SfItemType.ByteSequence ? (byte[])_ref! : null;
        return value is not null;
    }

    public bool Equals(SfBareItem other)
    {
        if (Type != other.Type || _number != other._number)
        {
            return false;
        }

        return (_ref, other._ref) switch
        {
            (null, null) => true,
            (string a, string b) => string.Equals(a, b, StringComparison.Ordinal),
            (byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b),
            _ => false,
        };
    }

    public override bool Equals(object? obj) => obj is SfBareItem other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Type);
        hash.Add(_number);
        switch (_ref)
        {
            case string s:
                hash.Add(s, StringComparer.Ordinal);
                break;
            case byte[] b:
                hash.AddBytes(b);
                break;
        }

        return hash.ToHashCode();
    }

    public static bool operator ==(SfBareItem left, SfBareItem right) => left.Equals(right);

    public static bool operator !=(SfBareItem left, SfBareItem right) => !left.Equals(right);

    /// <summary>The RFC 9651 serialization (empty for <c>default</c>).</summary>
    public override string ToString() => Type == SfItemType.None ? string.Empty : StructuredFieldWriter.Serialize(this);

    private InvalidOperationException WrongType(SfItemType wanted) =>
        new($"The structured field item is a {Type}, not a {wanted}.");
}

/// <summary>An RFC 9651 Item: a bare item with parameters.</summary>
internal readonly struct SfItem : IEquatable<SfItem>
{
    private readonly SfParameters? _parameters;

    public SfItem(SfBareItem value, SfParameters? parameters = null)
    {
        Value = value;
        _parameters = parameters is { Count: > 0 } ? parameters : null;
    }

    public SfBareItem Value { get; }

    /// <summary>Never null; <see cref="SfParameters.Empty"/> when there are none.</summary>
    public SfParameters Parameters => _parameters ?? SfParameters.Empty;

    public bool Equals(SfItem other) => Value.Equals(other.Value) && Parameters.Equals(other.Parameters);

    public override bool Equals(object? obj) => obj is SfItem other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Value, Parameters.Count);

    public static bool operator ==(SfItem left, SfItem right) => left.Equals(right);

    public static bool operator !=(SfItem left, SfItem right) => !left.Equals(right);

    public override string ToString() => StructuredFieldWriter.Serialize(this);
}

/// <summary>An RFC 9651 Inner List: items in parentheses, with parameters.</summary>
internal sealed class SfInnerList : IReadOnlyList<SfItem>, IEquatable<SfInnerList>
{
    private readonly SfItem[] _items;

    public SfInnerList(IEnumerable<SfItem> items, SfParameters? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        _items = items.ToArray();
        Parameters = parameters ?? SfParameters.Empty;
    }

    internal SfInnerList(SfItem[] items, SfParameters parameters)
    {
        _items = items;
        Parameters = parameters;
    }

    public SfParameters Parameters { get; }

    public int Count => _items.Length;

    public SfItem this[int index] => _items[index];

    public IEnumerator<SfItem> GetEnumerator() => ((IEnumerable<SfItem>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(SfInnerList? other) =>
        other is not null && _items.AsSpan().SequenceEqual(other._items) && Parameters.Equals(other.Parameters);

    public override bool Equals(object? obj) => Equals(obj as SfInnerList);

    public override int GetHashCode() => HashCode.Combine(_items.Length, Parameters.Count);

    public override string ToString() => StructuredFieldWriter.Serialize(new SfMember(this));
}

/// <summary>A member of a List or a Dictionary value: either an Item or an Inner List.</summary>
internal readonly struct SfMember : IEquatable<SfMember>
{
    private readonly SfInnerList? _innerList;

    public SfMember(SfItem item)
    {
        Item = item;
        _innerList = null;
    }

    public SfMember(SfInnerList innerList)
    {
        ArgumentNullException.ThrowIfNull(innerList);
        _innerList = innerList;
        Item = default;
    }

    public bool IsInnerList => _innerList is not null;

    /// <summary>The Item; <c>default</c> when this member is an Inner List (check <see cref="IsInnerList"/> or use <see cref="TryGetItem"/>).</summary>
    public SfItem Item { get; }

    /// <summary>The Inner List, or throws when the member is an Item.</summary>
    public SfInnerList InnerList => _innerList ?? throw new InvalidOperationException("The member is an Item, not an Inner List.");

    /// <summary>Parameters of the Item or of the Inner List.</summary>
    public SfParameters Parameters => _innerList?.Parameters ?? Item.Parameters;

    public bool TryGetItem(out SfItem item)
    {
        item = Item;
        return _innerList is null;
    }

    public bool TryGetInnerList([NotNullWhen(true)] out SfInnerList? innerList)
    {
        innerList = _innerList;
        return innerList is not null;
    }

    public static implicit operator SfMember(SfItem item) => new(item);

    public bool Equals(SfMember other) =>
        _innerList is null ? other._innerList is null && Item.Equals(other.Item) : _innerList.Equals(other._innerList);

    public override bool Equals(object? obj) => obj is SfMember other && Equals(other);

    public override int GetHashCode() => _innerList?.GetHashCode() ?? Item.GetHashCode();

    public static bool operator ==(SfMember left, SfMember right) => left.Equals(right);

    public static bool operator !=(SfMember left, SfMember right) => !left.Equals(right);

    public override string ToString() => StructuredFieldWriter.Serialize(this);
}

/// <summary>RFC 9651 Parameters: an ordered map from keys to bare items (keys unique; a repeated key overwrote the earlier value).</summary>
internal sealed class SfParameters : IReadOnlyList<KeyValuePair<string, SfBareItem>>, IEquatable<SfParameters>
{
    private readonly OrderedMap<SfBareItem> _map;

    internal SfParameters(OrderedMap<SfBareItem> map) => _map = map;

    public static SfParameters Empty { get; } = new(OrderedMap<SfBareItem>.Empty);

    /// <summary>Builds parameters; keys must be valid RFC 9651 keys, a repeated key overwrites the earlier value.</summary>
    public static SfParameters Create(IEnumerable<KeyValuePair<string, SfBareItem>> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var builder = new OrderedMapBuilder<SfBareItem>();
        foreach (var (key, value) in parameters)
        {
            SfSyntax.ThrowIfInvalidKey(key);
            if (value.Type == SfItemType.None)
            {
                throw new ArgumentException("Parameter values must not be default(SfBareItem).", nameof(parameters));
            }

            builder.Set(key, value);
        }

        return builder.Count == 0 ? Empty : new SfParameters(builder.Build());
    }

    public int Count => _map.Count;

    public KeyValuePair<string, SfBareItem> this[int index] => _map[index];

    public bool ContainsKey(string key) => _map.IndexOf(key) >= 0;

    public bool TryGetValue(string key, out SfBareItem value) => _map.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, SfBareItem>> GetEnumerator() => _map.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(SfParameters? other) => other is not null && _map.SequenceEqual(other._map);

    public override bool Equals(object? obj) => Equals(obj as SfParameters);

    public override int GetHashCode() => Count;
}

/// <summary>An RFC 9651 Dictionary: ordered, unique keys (the last of duplicate keys wins, keeping the first position).</summary>
internal sealed class SfDictionary : IReadOnlyList<KeyValuePair<string, SfMember>>
{
    private readonly OrderedMap<SfMember> _map;

    internal SfDictionary(OrderedMap<SfMember> map) => _map = map;

    public static SfDictionary Empty { get; } = new(OrderedMap<SfMember>.Empty);

    /// <summary>Builds a dictionary; keys must be valid RFC 9651 keys, a repeated key overwrites the earlier value.</summary>
    public static SfDictionary Create(IEnumerable<KeyValuePair<string, SfMember>> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var builder = new OrderedMapBuilder<SfMember>();
        foreach (var (key, value) in members)
        {
            SfSyntax.ThrowIfInvalidKey(key);
            if (!value.IsInnerList && value.Item.Value.Type == SfItemType.None)
            {
                throw new ArgumentException("Dictionary values must not be default(SfItem).", nameof(members));
            }

            builder.Set(key, value);
        }

        return builder.Count == 0 ? Empty : new SfDictionary(builder.Build());
    }

    public int Count => _map.Count;

    public KeyValuePair<string, SfMember> this[int index] => _map[index];

    public bool ContainsKey(string key) => _map.IndexOf(key) >= 0;

    public bool TryGetValue(string key, out SfMember value) => _map.TryGetValue(key, out value);

    /// <summary>The member's Item when <paramref name="key"/> is present and is not an Inner List.</summary>
    public bool TryGetItem(string key, out SfItem item)
    {
        if (_map.TryGetValue(key, out var member) && member.TryGetItem(out item))
        {
            return true;
        }

        item = default;
        return false;
    }

    public IEnumerator<KeyValuePair<string, SfMember>> GetEnumerator() => _map.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => StructuredFieldWriter.Serialize(this);
}

/// <summary>Immutable ordered map with unique keys; linear lookup for small maps, hashed for large (hostile) ones.</summary>
internal sealed class OrderedMap<T> : IEnumerable<KeyValuePair<string, T>>
{
    internal const int HashThreshold = 8;

    private readonly KeyValuePair<string, T>[] _entries;
    private readonly Dictionary<string, int>? _index;

    public OrderedMap(KeyValuePair<string, T>[] entries, Dictionary<string, int>? index)
    {
        _entries = entries;
        _index = index;
    }

    public static OrderedMap<T> Empty { get; } = new(Array.Empty<KeyValuePair<string, T>>(), null);

    public int Count => _entries.Length;

    public KeyValuePair<string, T> this[int index] => _entries[index];

    public int IndexOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_index is not null)
        {
            return _index.TryGetValue(key, out var i) ? i : -1;
        }

        for (var i = 0; i < _entries.Length; i++)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out T value)
    {
        var i = IndexOf(key);
        if (i < 0)
        {
            value = default;
            return false;
        }

        value = _entries[i].Value;
        return true;
    }

    public IEnumerator<KeyValuePair<string, T>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, T>>)_entries).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Accumulates entries with RFC 9651 overwrite semantics ("if the key exists, overwrite its value").</summary>
internal sealed class OrderedMapBuilder<T>
{
    private readonly List<KeyValuePair<string, T>> _entries = [];
    private Dictionary<string, int>? _index;

    public int Count => _entries.Count;

    public void Set(string key, T value)
    {
        var existing = Find(key);
        if (existing >= 0)
        {
            _entries[existing] = new(key, value);
            return;
        }

        _entries.Add(new(key, value));
        if (_index is not null)
        {
            _index[key] = _entries.Count - 1;
        }
        else if (_entries.Count > OrderedMap<T>.HashThreshold)
        {
            _index = new Dictionary<string, int>(_entries.Count * 2, StringComparer.Ordinal);
            for (var i = 0; i < _entries.Count; i++)
            {
                _index[_entries[i].Key] = i;
            }
        }
    }

    public OrderedMap<T> Build() => new([.. _entries], _index);

    private int Find(string key)
    {
        if (_index is not null)
        {
            return _index.TryGetValue(key, out var i) ? i : -1;
        }

        for (var i = 0; i < _entries.Count; i++)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
