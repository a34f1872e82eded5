-- CreateTable
CREATE TABLE "ComplianceRun" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "trigger" TEXT NOT NULL,
    "results" TEXT NOT NULL,
    "passCount" INTEGER NOT NULL,
    "failCount" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "RecoveredPointKey" (
    "pointId" TEXT NOT NULL PRIMARY KEY,
    "repositoryId" TEXT NOT NULL,
    "storageKeyId" TEXT NOT NULL,
    "storageKeySealed" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "recoveredAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "recoveredById" TEXT NOT NULL
);

-- CreateIndex
CREATE INDEX "ComplianceRun_at_idx" ON "ComplianceRun"("at");

