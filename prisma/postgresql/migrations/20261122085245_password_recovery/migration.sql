-- CreateTable
CREATE TABLE "PasswordRecoveryRequest" (
    "id" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdById" TEXT NOT NULL,
    "repositoryId" TEXT NOT NULL,
    "requestText" TEXT NOT NULL,
    "pending" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "appliedAt" TIMESTAMP(3),
    "appliedById" TEXT,

    CONSTRAINT "PasswordRecoveryRequest_pkey" PRIMARY KEY ("id")
);

