-- AlterTable
ALTER TABLE "User" ADD COLUMN "createdById" TEXT;
ALTER TABLE "User" ADD COLUMN "enabledChangedById" TEXT;
ALTER TABLE "User" ADD COLUMN "passwordChangedById" TEXT;
ALTER TABLE "User" ADD COLUMN "roleChangedById" TEXT;

-- CreateTable
CREATE TABLE "UserSession" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL,
    "revokedAt" DATETIME,
    "sourceIp" TEXT
);

-- CreateTable
CREATE TABLE "ApprovalProof" (
    "tokenHash" TEXT NOT NULL PRIMARY KEY,
    "requestId" TEXT NOT NULL,
    "payloadHash" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL,
    "spentAt" DATETIME
);

-- CreateIndex
CREATE INDEX "UserSession_userId_idx" ON "UserSession"("userId");

-- CreateIndex
CREATE INDEX "ApprovalProof_requestId_idx" ON "ApprovalProof"("requestId");

