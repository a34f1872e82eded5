-- CreateTable
CREATE TABLE "RecoveryKeyset" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "createdAt" DATETIME NOT NULL,
    "publicKey" TEXT NOT NULL,
    "modulusBits" INTEGER NOT NULL,
    "privateKeySealed" TEXT,
    "source" TEXT NOT NULL,
    "retiredAt" DATETIME,
    "lastExportedAt" DATETIME,
    "lastExportedById" TEXT
);

-- CreateTable
CREATE TABLE "ConsoleSetting" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

