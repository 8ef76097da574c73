// The router in one resource group: a Flex Consumption function app (.NET 10 isolated) running as a user-assigned
// managed identity; storage for the Functions host, tables, the audit queue and audit payloads; Cosmos DB with vector
// search for the response cache; Azure OpenAI; Key Vault for keys; Application Insights on Log Analytics. No resource
// accepts keys or shared-key auth: everything goes through the identity (or, with principalId, the person who ran azd).
targetScope = 'resourceGroup'

import { openAiDeployment, principal } from 'modules/types.bicep'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; used to name and tag resources.')
param environmentName string

@minLength(1)
@description('Region for every resource but Azure OpenAI.')
param location string = resourceGroup().location

@description('Region for Azure OpenAI, where the models have quota; empty means the same as location.')
param openAiLocation string = ''

@description('Short prefix for resource names (letters and digits).')
@minLength(1)
@maxLength(8)
param namePrefix string = 'rtr'

@description('Largest number of function app instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per function app instance in MB. Not 512: the worker alone holds 0.7-1.3 GB once its analyzer and local embedding model are loaded.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Cosmos DB billing: serverless (per request unit, nothing when idle) or provisioned (autoscale).')
@allowed([
  'serverless'
  'provisioned'
])
param cosmosThroughputMode string = 'serverless'

@description('Autoscale maximum RU/s when cosmosThroughputMode is provisioned; billing never drops below a tenth of it.')
@minValue(1000)
@maxValue(1000000)
param cosmosAutoscaleMaxThroughput int = 1000

@description('Embeddings for prompt analysis and the semantic cache: Local (all-MiniLM-L6-v2 in the app), AzureOpenAI (the text-embedding-3-small deployment) or None (exact cache hits only). Sets Router__Embeddings__Provider and creates the Cosmos DB cache container for that model.')
@allowed([
  'Local'
  'AzureOpenAI'
  'None'
])
param embeddingProvider string = 'Local'

@description('Capacity of each Azure OpenAI deployment that does not set its own, in thousands of tokens per minute.')
@minValue(1)
param openAiCapacity int = 10

@description('Azure OpenAI deployments; the default catalog calls the chat models by these names.')
param openAiDeployments openAiDeployment[] = [
  {
    name: 'gpt-4o-mini'
    model: 'gpt-4o-mini'
    version: '2024-07-18'
    sku: 'GlobalStandard'
  }
  {
    name: 'gpt-4.1-mini'
    model: 'gpt-4.1-mini'
    version: '2025-04-14'
    sku: 'GlobalStandard'
  }
  {
    name: 'gpt-4.1'
    model: 'gpt-4.1'
    version: '2025-04-14'
    sku: 'GlobalStandard'
  }
  {
    name: 'text-embedding-3-small'
    model: 'text-embedding-3-small'
    version: '1'
    sku: 'GlobalStandard'
  }
]

@description('Turn on Key Vault purge protection (irreversible; `azd down --purge` then cannot purge the vault).')
param keyVaultPurgeProtection bool = false

@secure()
@description('Key for the router\'s /admin endpoints, stored in Key Vault. Empty: no admin key, /admin answers 401.')
param adminKey string = ''

@secure()
@description('OpenAI API key, stored in Key Vault. Empty: OpenAI models stay unavailable.')
param openAiApiKey string = ''

@secure()
@description('Groq API key, stored in Key Vault. Empty: Groq models stay unavailable.')
param groqApiKey string = ''

@description('Object id of the person running azd; when set, they get the app\'s data roles to run the live tests.')
param principalId string = ''

@description('Kind of principal principalId names.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var prefix = toLower(namePrefix)
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${prefix}-func-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var auditQueueName = 'quality-audits'
var auditPayloadsContainerName = 'audit-payloads'

// The app's identity always; the deploying user too when principalId is given.
var appPrincipals = [
  {
    id: identity.outputs.principalId
    type: 'ServicePrincipal'
  }
]
var userPrincipals principal[] = empty(principalId)
  ? []
  : [
      {
        id: principalId
        type: principalType
      }
    ]
var dataPrincipals = concat(appPrincipals, userPrincipals)

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${prefix}-id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: '${prefix}-log-${resourceToken}'
    applicationInsightsName: '${prefix}-appi-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: take('${replace(prefix, '-', '')}st${resourceToken}', 24)
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    auditQueueName: auditQueueName
    auditPayloadsContainerName: auditPayloadsContainerName
    auditPayloadsRetentionDays: 7
    principals: dataPrincipals
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    name: '${prefix}-cosmos-${resourceToken}'
    location: location
    tags: tags
    throughputMode: cosmosThroughputMode
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    principals: dataPrincipals
    embeddingProvider: embeddingProvider
  }
}

module openAi 'modules/openai.bicep' = {
  name: 'openai'
  params: {
    name: '${prefix}-oai-${resourceToken}'
    location: empty(openAiLocation) ? location : openAiLocation
    tags: tags
    deployments: openAiDeployments
    defaultCapacity: openAiCapacity
    principals: dataPrincipals
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: take('${prefix}-kv-${resourceToken}', 24)
    location: location
    tags: tags
    enablePurgeProtection: keyVaultPurgeProtection
    adminKey: adminKey
    openAiApiKey: openAiApiKey
    groqApiKey: groqApiKey
    secretReaders: appPrincipals
    secretOfficers: userPrincipals
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: functionAppName
    planName: '${prefix}-plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: '${storage.outputs.blobServiceUri}/${deploymentContainerName}'
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    openAiEndpoint: openAi.outputs.endpoint
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    embeddingProvider: embeddingProvider
    blobServiceUri: storage.outputs.blobServiceUri
    queueServiceUri: storage.outputs.queueServiceUri
    tableServiceUri: storage.outputs.tableServiceUri
    auditQueueName: auditQueueName
    adminKeyUri: keyVault.outputs.adminKeyUri
    openAiApiKeyUri: keyVault.outputs.openAiApiKeyUri
    groqApiKeyUri: keyVault.outputs.groqApiKeyUri
    weightsSchedule: '0 */5 * * * *'
  }
}

@description('Base URL of the router\'s OpenAI-compatible endpoint.')
output ROUTER_ENDPOINT string = 'https://${functionApp.outputs.defaultHostName}'

@description('Function app name.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Storage account name.')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Cosmos DB account name.')
output AZURE_COSMOS_ACCOUNT_NAME string = cosmos.outputs.name

@description('Cosmos DB endpoint, for the live tests.')
output AZURE_COSMOS_ENDPOINT string = cosmos.outputs.endpoint

@description('Azure OpenAI account name.')
output AZURE_OPENAI_ACCOUNT_NAME string = openAi.outputs.name

@description('Azure OpenAI endpoint, for the live tests.')
output AZURE_OPENAI_ENDPOINT string = openAi.outputs.endpoint

@description('Key Vault name.')
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name

@description('Client id of the app\'s managed identity.')
output AZURE_CLIENT_ID string = identity.outputs.clientId
