-- CreateTable
CREATE TABLE "RecoveryKeyset" (
    "id" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "publicKey" TEXT NOT NULL,
    "modulusBits" INTEGER NOT NULL,
    "privateKeySealed" TEXT,
    "source" TEXT NOT NULL,
    "retiredAt" TIMESTAMP(3),
    "lastExportedAt" TIMESTAMP(3),
    "lastExportedById" TEXT,

    CONSTRAINT "RecoveryKeyset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ConsoleSetting" (
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ConsoleSetting_pkey" PRIMARY KEY ("key")
);

