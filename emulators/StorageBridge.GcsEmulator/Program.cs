using StorageBridge.GcsEmulator;

// A Google Cloud Storage JSON-API emulator: `dotnet StorageBridge.GcsEmulator.dll --urls http://127.0.0.1:PORT`.
await using var app = GcsEmulatorApp.Build(args);
await app.RunAsync();
