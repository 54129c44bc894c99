using System.Globalization;
using StorageBridge.Tests;

namespace StorageBridge.Bench;

internal sealed class BenchOptions
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/StorageBridge.Bench -- [scenario...] [options]

        scenarios (default: 1x1GiB 16x64MiB 200x1MiB):
          1x1GiB      one 1 GiB upload in 8 MiB appends; verifies sha-256 of the stored object
          16x64MiB    16 concurrent 64 MiB uploads in 8 MiB appends
          200x1MiB    200 concurrent 1 MiB uploads, one append each
          rss         RSS growth: one 1 GiB and one 4 GiB upload (8 MiB appends), each in a fresh process
          all         all of the above

        options:
          --rss               add the rss scenario (same as naming it)
          --servers LIST      bridge,baseline (default both; ratios need both)
          --repeat N          run every (scenario, server) N times, alternating servers; report the median run by MiB/s
          --scale-down N      divide every size by N (smoke runs only; numbers are not comparable)
          --host-dll PATH     StorageBridge.Host.dll to run (default: the copy next to this program)
          --json PATH         also write the results as JSON
          --temp DIR          parent of the servers' data directories (default: system temp; /dev/shm takes the
                              disk out of the measurement; needs RAM for the stored objects)
          --keep-data         keep the servers' temp data directories
          --verbose           echo the Host's log output
        """;

    public List<string> Scenarios { get; } = [];

    public List<string> Servers { get; } = ["baseline", "bridge"];

    public int ScaleDown { get; private set; } = 1;

    public int Repeat { get; private set; } = 1;

    public string HostDllPath { get; private set; } = HostProcess.DefaultHostDllPath;

    public string? JsonPath { get; private set; }

    public string? TempRoot { get; private set; }

    public bool KeepData { get; private set; }

    public bool Verbose { get; private set; }

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"missing value for {arg}");
            switch (arg)
            {
                case "--rss":
                    options.Scenarios.Add("rss");
                    break;
                case "--servers":
                    options.Servers.Clear();
                    options.Servers.AddRange(Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()));
                    if (options.Servers.Count == 0 || options.Servers.Any(s => s is not ("bridge" or "baseline")))
                    {
                        throw new ArgumentException("--servers takes bridge and/or baseline");
                    }

                    break;
                case "--scale-down":
                    options.ScaleDown = int.Parse(Next(), NumberStyles.None, CultureInfo.InvariantCulture);
                    if (options.ScaleDown < 1)
                    {
                        throw new ArgumentException("--scale-down must be >= 1");
                    }

                    break;
                case "--repeat":
                    options.Repeat = int.Parse(Next(), NumberStyles.None, CultureInfo.InvariantCulture);
                    if (options.Repeat < 1)
                    {
                        throw new ArgumentException("--repeat must be >= 1");
                    }

                    break;
                case "--host-dll":
                    options.HostDllPath = Path.GetFullPath(Next());
                    break;
                case "--json":
                    options.JsonPath = Path.GetFullPath(Next());
                    break;
                case "--temp":
                    options.TempRoot = Path.GetFullPath(Next());
                    break;
                case "--keep-data":
                    options.KeepData = true;
                    break;
                case "--verbose":
                    options.Verbose = true;
                    break;
                case "-h" or "--help":
                    throw new ArgumentException("");
                default:
                    if (arg.StartsWith('-'))
                    {
                        throw new ArgumentException($"unknown option {arg}");
                    }

                    options.Scenarios.Add(arg);
                    break;
            }
        }

        if (options.Scenarios.Count == 0)
        {
            options.Scenarios.AddRange(["1x1GiB", "16x64MiB", "200x1MiB"]);
        }

        return options;
    }

    /// <summary>Expands scenario names into runs; the rss scenario becomes two runs.</summary>
    public IReadOnlyList<Scenario> ResolveScenarios()
    {
        const long MiB = 1 << 20;
        const long GiB = 1 << 30;
        var d = ScaleDown;
        var result = new List<Scenario>();
        foreach (var name in Scenarios.SelectMany(s => s.Equals("all", StringComparison.OrdinalIgnoreCase) ? ["1x1GiB", "16x64MiB", "200x1MiB", "rss"] : new[] { s }))
        {
            IEnumerable<Scenario> runs = name.ToLowerInvariant() switch
            {
                "1x1gib" => [new Scenario("1x1GiB", 1, GiB / d, 8 * MiB / d, VerifySha256: true)],
                "16x64mib" => [new Scenario("16x64MiB", 16, 64 * MiB / d, 8 * MiB / d, VerifySha256: false)],
                "200x1mib" => [new Scenario("200x1MiB", 200, MiB / d, MiB / d, VerifySha256: false)],
                "rss" => [new Scenario("rss-1GiB", 1, GiB / d, 8 * MiB / d, VerifySha256: false), new Scenario("rss-4GiB", 1, 4 * GiB / d, 8 * MiB / d, VerifySha256: false)],
                _ => throw new ArgumentException($"unknown scenario '{name}'"),
            };
            foreach (var run in runs.Where(r => result.All(x => x.Name != r.Name)))
            {
                result.Add(run);
            }
        }

        return result;
    }
}
