-- AlterTable
ALTER TABLE "BackupJob" ADD COLUMN     "passwordApprovedAt" TIMESTAMP(3),
ADD COLUMN     "passwordApprovedById" TEXT,
ADD COLUMN     "pendingApprovalId" TEXT;

-- CreateTable
CREATE TABLE "ApprovalRequest" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "objectType" TEXT NOT NULL,
    "objectId" TEXT NOT NULL,
    "summary" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "payloadHash" TEXT NOT NULL,
    "requiredPermission" TEXT NOT NULL,
    "requestedById" TEXT NOT NULL,
    "requestedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "decidedById" TEXT,
    "decidedAt" TIMESTAMP(3),
    "comment" TEXT,

    CONSTRAINT "ApprovalRequest_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ApprovalRequest_state_expiresAt_idx" ON "ApprovalRequest"("state", "expiresAt");

-- CreateIndex
CREATE INDEX "ApprovalRequest_requestedById_requestedAt_idx" ON "ApprovalRequest"("requestedById", "requestedAt");

-- CreateIndex
CREATE INDEX "ApprovalRequest_objectType_objectId_idx" ON "ApprovalRequest"("objectType", "objectId");

