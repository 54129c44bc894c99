using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using StorageBridge.Backends;
using StorageBridge.Configuration;

namespace StorageBridge.Metadata.DynamoDb;

/// <summary>
/// Start-up: with <see cref="DynamoDbMetadataOptions.CreateTable"/> the table is created when missing (development);
/// otherwise it must exist, and start-up fails naming what is wrong (missing table, wrong key, missing index) rather
/// than on the first upload.
/// </summary>
public sealed partial class DynamoDbUploadMetadataStore
{
    private static readonly TimeSpan ActiveTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Configuration path the start-up errors name (the factory sets it; code-only stores keep the default).</summary>
    internal string ConfigurationPath { get; init; } = "StorageBridge:Metadata";

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var table = await DescribeAsync(cancellationToken).ConfigureAwait(false)
                ?? (_options.CreateTable
                    ? await CreateTableAsync(cancellationToken).ConfigureAwait(false)
                    : throw new StorageBridgeConfigurationException(
                        ConfigurationBinding.Key(ConfigurationPath, "TableName"),
                        $"DynamoDB table '{_options.TableName}' does not exist at {Describe(_client)}. Create it from the infrastructure " +
                        $"template (docs/metadata-stores.md, DynamoDB), or set {ConfigurationBinding.Key(ConfigurationPath, "CreateTable")} = true for development."));
            CheckShape(table);
            await CheckTimeToLiveAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (StorageBackendException failure)
        {
            // Denied access (IAM), bad credentials, an unreachable endpoint: say which table and endpoint.
            throw new InvalidOperationException(
                $"The DynamoDB metadata store could not use table '{_options.TableName}' at {Describe(_client)}: {failure.Message}", failure);
        }

        Log.Ready(_logger, _options.TableName, Describe(_client));
    }

    /// <summary>The table once it is usable (waiting while it is being created), or null when it does not exist.</summary>
    private async Task<TableDescription?> DescribeAsync(CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + ActiveTimeout;
        while (true)
        {
            DescribeTableResponse response;
            try
            {
                response = await CallAsync(
                    () => _client.DescribeTableAsync(new DescribeTableRequest { TableName = _options.TableName }, cancellationToken),
                    cancellationToken).ConfigureAwait(false);
            }
            catch (StorageBackendException failure) when (failure.ErrorCode == "ResourceNotFoundException")
            {
                return null;
            }

            var table = response.Table;
            var indexReady = table.GlobalSecondaryIndexes?.All(i => i.IndexStatus != IndexStatus.CREATING) ?? true;
            if ((table.TableStatus == TableStatus.ACTIVE || table.TableStatus == TableStatus.UPDATING) && indexReady)
            {
                return table;
            }

            if (_time.GetUtcNow() > deadline)
            {
                throw new InvalidOperationException(
                    $"DynamoDB table '{_options.TableName}' is {table.TableStatus} (not ACTIVE) after {ActiveTimeout.TotalSeconds:0} s.");
            }

            await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<TableDescription> CreateTableAsync(CancellationToken cancellationToken)
    {
        var request = new CreateTableRequest
        {
            TableName = _options.TableName,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement(PartitionKeyAttribute, KeyType.HASH)],
            AttributeDefinitions =
            [
                new AttributeDefinition(PartitionKeyAttribute, ScalarAttributeType.S),
                new AttributeDefinition(ExpiryPartitionAttribute, ScalarAttributeType.S),
                new AttributeDefinition(ExpiryAttribute, ScalarAttributeType.N),
                new AttributeDefinition(EventsPartitionAttribute, ScalarAttributeType.S),
                new AttributeDefinition(EventsDueAttribute, ScalarAttributeType.N),
            ],
            GlobalSecondaryIndexes =
            [
                new GlobalSecondaryIndex
                {
                    IndexName = ExpiryIndexName,
                    KeySchema = [new KeySchemaElement(ExpiryPartitionAttribute, KeyType.HASH), new KeySchemaElement(ExpiryAttribute, KeyType.RANGE)],
                    Projection = new Projection { ProjectionType = ProjectionType.KEYS_ONLY },
                },
                new GlobalSecondaryIndex
                {
                    IndexName = EventsIndexName,
                    KeySchema = [new KeySchemaElement(EventsPartitionAttribute, KeyType.HASH), new KeySchemaElement(EventsDueAttribute, KeyType.RANGE)],
                    Projection = new Projection { ProjectionType = ProjectionType.KEYS_ONLY },
                },
            ],
        };
        try
        {
            await CallAsync(() => _client.CreateTableAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (StorageBackendException failure) when (failure.ErrorCode == "ResourceInUseException")
        {
            // Another instance starting at the same moment created it first.
        }

        var table = await DescribeAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"DynamoDB table '{_options.TableName}' vanished right after it was created.");
        await CallAsync(
            () => _client.UpdateTimeToLiveAsync(
                new UpdateTimeToLiveRequest
                {
                    TableName = _options.TableName,
                    TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = TtlAttribute, Enabled = true },
                },
                cancellationToken),
            cancellationToken).ConfigureAwait(false);
        Log.TableCreated(_logger, _options.TableName, ExpiryIndexName, TtlAttribute);
        return table;
    }

    /// <summary>The keys and the index this store relies on; every deviation is named in one message.</summary>
    private void CheckShape(TableDescription table)
    {
        var problems = new List<string>();
        var types = (table.AttributeDefinitions ?? []).ToDictionary(a => a.AttributeName, a => a.AttributeType.Value, StringComparer.Ordinal);
        if (table.KeySchema is not [{ KeyType.Value: "HASH" } hash] || hash.AttributeName != PartitionKeyAttribute || types.GetValueOrDefault(PartitionKeyAttribute) != "S")
        {
            problems.Add($"its key must be a string partition key '{PartitionKeyAttribute}' and no sort key (it has {string.Join(", ", (table.KeySchema ?? []).Select(k => $"{k.AttributeName} {k.KeyType}"))})");
        }

        var index = table.GlobalSecondaryIndexes?.FirstOrDefault(i => i.IndexName == ExpiryIndexName);
        if (index is null)
        {
            problems.Add($"it lacks the global secondary index '{ExpiryIndexName}'");
        }
        else if (index.KeySchema is not [{ KeyType.Value: "HASH" } ih, { KeyType.Value: "RANGE" } ir]
            || ih.AttributeName != ExpiryPartitionAttribute || ir.AttributeName != ExpiryAttribute
            || types.GetValueOrDefault(ExpiryPartitionAttribute) != "S" || types.GetValueOrDefault(ExpiryAttribute) != "N")
        {
            problems.Add($"index '{ExpiryIndexName}' must have partition key '{ExpiryPartitionAttribute}' (string) and sort key '{ExpiryAttribute}' (number)");
        }

        var events = table.GlobalSecondaryIndexes?.FirstOrDefault(i => i.IndexName == EventsIndexName);
        if (events is null)
        {
            problems.Add($"it lacks the global secondary index '{EventsIndexName}' (completion events; added in this version: update the table from the template)");
        }
        else if (events.KeySchema is not [{ KeyType.Value: "HASH" } eh, { KeyType.Value: "RANGE" } er]
            || eh.AttributeName != EventsPartitionAttribute || er.AttributeName != EventsDueAttribute
            || types.GetValueOrDefault(EventsPartitionAttribute) != "S" || types.GetValueOrDefault(EventsDueAttribute) != "N")
        {
            problems.Add($"index '{EventsIndexName}' must have partition key '{EventsPartitionAttribute}' (string) and sort key '{EventsDueAttribute}' (number)");
        }

        if (problems.Count > 0)
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationBinding.Key(ConfigurationPath, "TableName"),
                $"DynamoDB table '{_options.TableName}' does not have the layout this store needs: {string.Join("; ", problems)}. See docs/metadata-stores.md (DynamoDB).");
        }
    }

    private async Task CheckTimeToLiveAsync(CancellationToken cancellationToken)
    {
        var response = await CallAsync(
            () => _client.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = _options.TableName }, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        var ttl = response.TimeToLiveDescription;
        var status = ttl?.TimeToLiveStatus?.Value ?? "DISABLED";
        if (ttl?.AttributeName != TtlAttribute || status is not ("ENABLED" or "ENABLING"))
        {
            Log.TtlOff(_logger, _options.TableName, status, ttl?.AttributeName ?? "none", TtlAttribute);
        }
    }
}
