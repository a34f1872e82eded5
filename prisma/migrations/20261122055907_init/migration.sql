-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "passwordHash" TEXT NOT NULL,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "sessionVersion" INTEGER NOT NULL DEFAULT 1,
    "lastSignInAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "SignInThrottle" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "windowStart" DATETIME NOT NULL,
    "lockedUntil" DATETIME
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorId" TEXT,
    "actorEmail" TEXT,
    "action" TEXT NOT NULL,
    "objectType" TEXT,
    "objectId" TEXT,
    "outcome" TEXT NOT NULL,
    "sourceIp" TEXT,
    "details" TEXT NOT NULL DEFAULT '{}',
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "Site" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "vcenterHost" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "connectorKind" TEXT NOT NULL,
    "lastSyncAt" DATETIME
);

-- CreateTable
CREATE TABLE "Tenant" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "Host" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "siteId" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "cluster" TEXT NOT NULL,
    "esxiVersion" TEXT NOT NULL,
    "cpuCores" INTEGER NOT NULL,
    "memoryGiB" INTEGER NOT NULL,
    "connectionState" TEXT NOT NULL,
    CONSTRAINT "Host_siteId_fkey" FOREIGN KEY ("siteId") REFERENCES "Site" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "StoragePolicy" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "siteId" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "encryption" BOOLEAN NOT NULL,
    "description" TEXT NOT NULL,
    CONSTRAINT "StoragePolicy_siteId_fkey" FOREIGN KEY ("siteId") REFERENCES "Site" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Datastore" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "siteId" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "capacityBytes" BIGINT NOT NULL,
    "freeBytes" BIGINT NOT NULL,
    "encryptionCompatible" BOOLEAN NOT NULL DEFAULT false,
    CONSTRAINT "Datastore_siteId_fkey" FOREIGN KEY ("siteId") REFERENCES "Site" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "DatastorePolicy" (
    "datastoreId" TEXT NOT NULL,
    "policyId" TEXT NOT NULL,

    PRIMARY KEY ("datastoreId", "policyId"),
    CONSTRAINT "DatastorePolicy_datastoreId_fkey" FOREIGN KEY ("datastoreId") REFERENCES "Datastore" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "DatastorePolicy_policyId_fkey" FOREIGN KEY ("policyId") REFERENCES "StoragePolicy" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "KeyProvider" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "siteId" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "servers" TEXT NOT NULL DEFAULT '[]',
    "tenantId" TEXT,
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    CONSTRAINT "KeyProvider_siteId_fkey" FOREIGN KEY ("siteId") REFERENCES "Site" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "KeyProvider_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Vm" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "siteId" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "searchName" TEXT NOT NULL,
    "hostId" TEXT NOT NULL,
    "tenantId" TEXT,
    "folder" TEXT NOT NULL,
    "guestOs" TEXT NOT NULL,
    "powerState" TEXT NOT NULL,
    "cpuCount" INTEGER NOT NULL,
    "memoryMiB" INTEGER NOT NULL,
    "homeDatastoreId" TEXT NOT NULL,
    "homeStoragePolicyId" TEXT NOT NULL,
    "encrypted" BOOLEAN NOT NULL,
    "keyProviderId" TEXT,
    "keyId" TEXT,
    "hasEncryptionBundle" BOOLEAN NOT NULL,
    "vtpm" BOOLEAN NOT NULL,
    "guestOsEncrypted" BOOLEAN NOT NULL,
    "diskCount" INTEGER NOT NULL,
    "provisionedBytes" BIGINT NOT NULL,
    CONSTRAINT "Vm_siteId_fkey" FOREIGN KEY ("siteId") REFERENCES "Site" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Vm_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Vm_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Vm_homeDatastoreId_fkey" FOREIGN KEY ("homeDatastoreId") REFERENCES "Datastore" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Vm_homeStoragePolicyId_fkey" FOREIGN KEY ("homeStoragePolicyId") REFERENCES "StoragePolicy" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Vm_keyProviderId_fkey" FOREIGN KEY ("keyProviderId") REFERENCES "KeyProvider" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "VirtualDisk" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "vmId" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "deviceKey" INTEGER NOT NULL,
    "capacityBytes" BIGINT NOT NULL,
    "datastoreId" TEXT NOT NULL,
    "storagePolicyId" TEXT NOT NULL,
    "fileName" TEXT NOT NULL,
    "encrypted" BOOLEAN NOT NULL,
    "keyId" TEXT,
    CONSTRAINT "VirtualDisk_vmId_fkey" FOREIGN KEY ("vmId") REFERENCES "Vm" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "VirtualDisk_datastoreId_fkey" FOREIGN KEY ("datastoreId") REFERENCES "Datastore" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "VirtualDisk_storagePolicyId_fkey" FOREIGN KEY ("storagePolicyId") REFERENCES "StoragePolicy" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Proxy" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "siteId" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "hostId" TEXT,
    "transportModes" TEXT NOT NULL,
    "maxTasks" INTEGER NOT NULL,
    "keyProviderId" TEXT,
    "tenantId" TEXT,
    "privileges" TEXT NOT NULL,
    CONSTRAINT "Proxy_siteId_fkey" FOREIGN KEY ("siteId") REFERENCES "Site" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Proxy_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Proxy_keyProviderId_fkey" FOREIGN KEY ("keyProviderId") REFERENCES "KeyProvider" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Proxy_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_prevHash_key" ON "AuditEvent"("prevHash");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_hash_key" ON "AuditEvent"("hash");

-- CreateIndex
CREATE INDEX "AuditEvent_action_idx" ON "AuditEvent"("action");

-- CreateIndex
CREATE INDEX "AuditEvent_actorId_idx" ON "AuditEvent"("actorId");

-- CreateIndex
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");

-- CreateIndex
CREATE UNIQUE INDEX "Site_externalId_key" ON "Site"("externalId");

-- CreateIndex
CREATE UNIQUE INDEX "Tenant_externalId_key" ON "Tenant"("externalId");

-- CreateIndex
CREATE UNIQUE INDEX "Host_siteId_externalId_key" ON "Host"("siteId", "externalId");

-- CreateIndex
CREATE UNIQUE INDEX "StoragePolicy_siteId_externalId_key" ON "StoragePolicy"("siteId", "externalId");

-- CreateIndex
CREATE UNIQUE INDEX "Datastore_siteId_externalId_key" ON "Datastore"("siteId", "externalId");

-- CreateIndex
CREATE UNIQUE INDEX "KeyProvider_siteId_externalId_key" ON "KeyProvider"("siteId", "externalId");

-- CreateIndex
CREATE INDEX "Vm_name_idx" ON "Vm"("name");

-- CreateIndex
CREATE INDEX "Vm_searchName_idx" ON "Vm"("searchName");

-- CreateIndex
CREATE INDEX "Vm_siteId_name_idx" ON "Vm"("siteId", "name");

-- CreateIndex
CREATE INDEX "Vm_tenantId_name_idx" ON "Vm"("tenantId", "name");

-- CreateIndex
CREATE INDEX "Vm_encrypted_name_idx" ON "Vm"("encrypted", "name");

-- CreateIndex
CREATE INDEX "Vm_keyProviderId_name_idx" ON "Vm"("keyProviderId", "name");

-- CreateIndex
CREATE INDEX "Vm_vtpm_name_idx" ON "Vm"("vtpm", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Vm_siteId_externalId_key" ON "Vm"("siteId", "externalId");

-- CreateIndex
CREATE INDEX "VirtualDisk_datastoreId_idx" ON "VirtualDisk"("datastoreId");

-- CreateIndex
CREATE UNIQUE INDEX "VirtualDisk_vmId_externalId_key" ON "VirtualDisk"("vmId", "externalId");

-- CreateIndex
CREATE UNIQUE INDEX "Proxy_siteId_externalId_key" ON "Proxy"("siteId", "externalId");

