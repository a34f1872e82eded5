-- AlterTable
ALTER TABLE "KeyProvider" ADD COLUMN     "kmsClusterId" TEXT;

-- CreateTable
CREATE TABLE "KmsCluster" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "servers" TEXT NOT NULL,
    "caSealed" TEXT NOT NULL,
    "clientCertSealed" TEXT NOT NULL,
    "clientKeySealed" TEXT NOT NULL,
    "clientCertSubject" TEXT NOT NULL,
    "clientCertFingerprint" TEXT NOT NULL,
    "clientCertNotAfter" TIMESTAMP(3) NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'unknown',
    "statusCheckedAt" TIMESTAMP(3),
    "unreachableSince" TIMESTAMP(3),
    "lastError" TEXT,
    "kmipVersions" TEXT,
    "serverSubject" TEXT,
    "serverCertNotAfter" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "KmsCluster_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "KmsCluster_name_key" ON "KmsCluster"("name");

-- AddForeignKey
ALTER TABLE "KeyProvider" ADD CONSTRAINT "KeyProvider_kmsClusterId_fkey" FOREIGN KEY ("kmsClusterId") REFERENCES "KmsCluster"("id") ON DELETE SET NULL ON UPDATE CASCADE;

