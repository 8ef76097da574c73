// Cosmos DB for NoSQL holding the response cache: vector search on, key auth off, serverless or autoscale on the
// container (vector search is unsupported in shared throughput databases). The cache container's definition lives in
// one variable, cacheContainer, which the code's own definition is tested against.
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

var serverless = throughputMode == 'serverless'

@description('Database the router\'s caches live in.')
var databaseName = 'router'

// The semantic and exact response cache for prompts embedded with all-MiniLM-L6-v2 (384 dimensions). Items are
// partitioned by tenant, then scope, so a lookup never crosses tenants; items expire after 7 days unless they carry
// their own ttl. Embeddings and answers are not indexed for range queries (only the vector index covers /embedding).
// Router.Infrastructure defines the same container; a contract test compares the two, so change both together.
@description('Definition of the response cache container, exactly as the code expects it.')
var cacheContainer = {
  id: 'cache-all-minilm-l6-v2'
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
        dimensions: 384
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
