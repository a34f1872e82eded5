-- CreateTable
CREATE TABLE "KmsCluster" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "servers" TEXT NOT NULL,
    "caSealed" TEXT NOT NULL,
    "clientCertSealed" TEXT NOT NULL,
    "clientKeySealed" TEXT NOT NULL,
    "clientCertSubject" TEXT NOT NULL,
    "clientCertFingerprint" TEXT NOT NULL,
    "clientCertNotAfter" DATETIME NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'unknown',
    "statusCheckedAt" DATETIME,
    "unreachableSince" DATETIME,
    "lastError" TEXT,
    "kmipVersions" TEXT,
    "serverSubject" TEXT,
    "serverCertNotAfter" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_KeyProvider" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "siteId" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "servers" TEXT NOT NULL DEFAULT '[]',
    "tenantId" TEXT,
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "kmsClusterId" TEXT,
    CONSTRAINT "KeyProvider_siteId_fkey" FOREIGN KEY ("siteId") REFERENCES "Site" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "KeyProvider_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "KeyProvider_kmsClusterId_fkey" FOREIGN KEY ("kmsClusterId") REFERENCES "KmsCluster" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_KeyProvider" ("externalId", "id", "isDefault", "kind", "name", "servers", "siteId", "tenantId") SELECT "externalId", "id", "isDefault", "kind", "name", "servers", "siteId", "tenantId" FROM "KeyProvider";
DROP TABLE "KeyProvider";
ALTER TABLE "new_KeyProvider" RENAME TO "KeyProvider";
CREATE UNIQUE INDEX "KeyProvider_siteId_externalId_key" ON "KeyProvider"("siteId", "externalId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "KmsCluster_name_key" ON "KmsCluster"("name");

