-- CreateTable
CREATE TABLE "ComplianceRun" (
    "id" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "trigger" TEXT NOT NULL,
    "results" TEXT NOT NULL,
    "passCount" INTEGER NOT NULL,
    "failCount" INTEGER NOT NULL,

    CONSTRAINT "ComplianceRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RecoveredPointKey" (
    "pointId" TEXT NOT NULL,
    "repositoryId" TEXT NOT NULL,
    "storageKeyId" TEXT NOT NULL,
    "storageKeySealed" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "recoveredAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "recoveredById" TEXT NOT NULL,

    CONSTRAINT "RecoveredPointKey_pkey" PRIMARY KEY ("pointId")
);

-- CreateIndex
CREATE INDEX "ComplianceRun_at_idx" ON "ComplianceRun"("at");

