-- AlterTable
ALTER TABLE "BackupJob" ADD COLUMN "passwordApprovedAt" DATETIME;
ALTER TABLE "BackupJob" ADD COLUMN "passwordApprovedById" TEXT;
ALTER TABLE "BackupJob" ADD COLUMN "pendingApprovalId" TEXT;

-- CreateTable
CREATE TABLE "ApprovalRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "objectType" TEXT NOT NULL,
    "objectId" TEXT NOT NULL,
    "summary" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "payloadHash" TEXT NOT NULL,
    "requiredPermission" TEXT NOT NULL,
    "requestedById" TEXT NOT NULL,
    "requestedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "decidedById" TEXT,
    "decidedAt" DATETIME,
    "comment" TEXT
);

-- CreateIndex
CREATE INDEX "ApprovalRequest_state_expiresAt_idx" ON "ApprovalRequest"("state", "expiresAt");

-- CreateIndex
CREATE INDEX "ApprovalRequest_requestedById_requestedAt_idx" ON "ApprovalRequest"("requestedById", "requestedAt");

-- CreateIndex
CREATE INDEX "ApprovalRequest_objectType_objectId_idx" ON "ApprovalRequest"("objectType", "objectId");

