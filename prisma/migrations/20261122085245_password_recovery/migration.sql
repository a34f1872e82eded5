-- CreateTable
CREATE TABLE "PasswordRecoveryRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdById" TEXT NOT NULL,
    "repositoryId" TEXT NOT NULL,
    "requestText" TEXT NOT NULL,
    "pending" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "appliedAt" DATETIME,
    "appliedById" TEXT
);

