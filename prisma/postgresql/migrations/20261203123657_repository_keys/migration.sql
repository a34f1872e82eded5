-- CreateTable
CREATE TABLE "RepositoryKey" (
    "id" TEXT NOT NULL,
    "repositoryId" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "header" TEXT NOT NULL,
    "sealed" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdById" TEXT,

    CONSTRAINT "RepositoryKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "RepositoryKey_repositoryId_keyId_key" ON "RepositoryKey"("repositoryId", "keyId");

-- AddForeignKey
ALTER TABLE "RepositoryKey" ADD CONSTRAINT "RepositoryKey_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "BackupRepository"("id") ON DELETE CASCADE ON UPDATE CASCADE;

