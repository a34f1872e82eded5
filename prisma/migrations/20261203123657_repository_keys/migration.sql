-- CreateTable
CREATE TABLE "RepositoryKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "repositoryId" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "header" TEXT NOT NULL,
    "sealed" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdById" TEXT,
    CONSTRAINT "RepositoryKey_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "BackupRepository" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "RepositoryKey_repositoryId_keyId_key" ON "RepositoryKey"("repositoryId", "keyId");

