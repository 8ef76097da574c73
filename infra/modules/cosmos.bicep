// Cosmos DB for NoSQL holding the response cache: vector search on, key auth off, serverless or autoscale on the
// container (vector search is unsupported in shared throughput databases). The app keeps answers in one container per
// embedding model and its data-plane role cannot create containers, so this template creates the one for the embedding
// provider the app is configured with. The container's definition lives in one variable, cacheContainer, which the
// code's own definition is tested against.
import { principal } from 'types.bicep'

param name string
param location string
param tags object

@description('serverless: billed per request unit and GB stored. provisioned: autoscale throughput shared by the database.')
@allowed([
  'serverless'
  'provisioned'
])
param throughputMode string

@description('Autoscale maximum RU/s of the cache container when throughputMode is provisioned; it scales down to a tenth of this.')
@minValue(1000)
param autoscaleMaxThroughput int

@description('Principals that get the Cosmos DB Built-in Data Contributor role.')
param principals principal[]

@description('Embedding provider the app is configured with (Router:Embeddings:Provider): the cache container is its model\'s.')
@allowed([
  'Local'
  'AzureOpenAI'
  'None'
])
param embeddingProvider string

var serverless = throughputMode == 'serverless'

@description('Database the router\'s caches live in.')
var databaseName = 'router'

// The embedding model each provider setting gives the app, with the container the app reads and writes its answers in
// (CosmosCacheContainer.NameFor) and the vector dimensions (CosmosCacheContainer.DimensionsFor). Local is
// all-MiniLM-L6-v2 (its -int8 form shares the container), AzureOpenAI the text-embedding-3-small deployment, None no
// embeddings at all (exact hits only, still in a container of their own). A contract test checks every entry.
@description('Embedding model, cache container and vector dimensions of each Router:Embeddings:Provider.')
var embeddingModels = {
  Local: {
    model: 'all-MiniLM-L6-v2'
    container: 'cache-all-minilm-l6-v2'
    dimensions: 384
  }
  AzureOpenAI: {
    model: 'text-embedding-3-small'
    container: 'cache-text-embedding-3-small'
    dimensions: 1536
  }
  None: {
    model: 'none'
    container: 'cache-none'
    dimensions: 384
  }
}

// The semantic and exact response cache for prompts embedded with the configured model. Items are partitioned by
// tenant, then scope, so a lookup never crosses tenants; items expire after 7 days unless they carry their own ttl.
// Embeddings and answers are not indexed for range queries (only the vector index covers /embedding).
// Router.Infrastructure defines the same container; a contract test compares the two, so change both together.
@description('Definition of the response cache container, exactly as the code expects it.')
var cacheContainer = {
  id: embeddingModels[embeddingProvider].container
  partitionKey: {
    paths: [
      '/tenantId'
      '/scope'
    ]
    kind: 'MultiHash'
    version: 2
  }
  vectorEmbeddingPolicy: {
    vectorEmbeddings: [
      {
        path: '/embedding'
        dataType: 'float32'
        distanceFunction: 'cosine'
        dimensions: embeddingModels[embeddingProvider].dimensions
      }
    ]
  }
  indexingPolicy: {
    indexingMode: 'consistent'
    automatic: true
    includedPaths: [
      {
        path: '/*'
      }
    ]
    excludedPaths: [
      {
        path: '/embedding/*'
      }
      {
        path: '/answer/?'
      }
      {
        path: '/"_etag"/?'
      }
    ]
    vectorIndexes: [
      {
        path: '/embedding'
        type: 'quantizedFlat'
      }
    ]
  }
  defaultTtl: 604800
}

resource account 'Microsoft.DocumentDB/databaseAccounts@2025-04-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    capabilities: concat(
      [
        {
          name: 'EnableNoSQLVectorSearch'
        }
      ],
      serverless
        ? [
            {
              name: 'EnableServerless'
            }
          ]
        : []
    )
    // Entra ID only; the data-plane role below cannot create containers, so this template owns the schema.
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }

  resource database 'sqlDatabases' = {
    name: databaseName
    properties: {
      resource: {
        id: databaseName
      }
    }

    resource cache 'containers' = {
      name: cacheContainer.id
      properties: {
        resource: cacheContainer
        // Throughput on the container, not the database: vector indexing and search are unsupported in shared
        // throughput databases (https://learn.microsoft.com/azure/cosmos-db/vector-search#current-limitations).
        options: serverless
          ? {}
          : {
              autoscaleSettings: {
                maxThroughput: autoscaleMaxThroughput
              }
            }
      }
    }
  }

  // Cosmos DB Built-in Data Contributor: read and write items in every container (no control-plane access).
  resource dataContributor 'sqlRoleDefinitions' existing = {
    name: '00000000-0000-0000-0000-000000000002'
  }
}

// Cosmos DB runs one control-plane operation on an account at a time, so the assignments go one by one, after the
// container exists.
@batchSize(1)
resource dataContributorAssignments 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2025-04-15' = [
  for p in principals: {
    parent: account
    name: guid(account.id, p.id, account::dataContributor.id)
    properties: {
      roleDefinitionId: account::dataContributor.id
      principalId: p.id
      scope: account.id
    }
    dependsOn: [
      account::database::cache
    ]
  }
]

output name string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = account::database.name
output cacheContainerName string = account::database::cache.name
