using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace StorageBridge.Backends.S3.Tests.Deploy;

/// <summary>One Dockerfile instruction: its keyword (upper case) and arguments, continuation lines joined.</summary>
public sealed record DockerInstruction(string Keyword, string Arguments);

/// <summary>
/// The repository's Dockerfile, read the way the test needs it: the build stage's <c>dotnet publish</c> command and the
/// runtime (last) stage's ENV, WORKDIR, EXPOSE and ENTRYPOINT. Only the syntax the Dockerfile uses is understood
/// (exec-form ENTRYPOINT, <c>ENV k=v ...</c>); anything else fails loudly instead of being guessed.
/// </summary>
public sealed partial class DockerfileModel
{
    private DockerfileModel(IReadOnlyList<IReadOnlyList<DockerInstruction>> stages) => Stages = stages;

    /// <summary>Instructions per stage (each starts with its FROM).</summary>
    public IReadOnlyList<IReadOnlyList<DockerInstruction>> Stages { get; }

    public IReadOnlyList<DockerInstruction> RuntimeStage => Stages[^1];

    public static DockerfileModel Load(string path)
    {
        var stages = new List<List<DockerInstruction>>();
        var logical = new StringBuilder();
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && logical.Length == 0))
            {
                continue; // comments (also between continuation lines) and blank lines
            }

            if (line.EndsWith('\\'))
            {
                logical.Append(line[..^1]).Append(' ');
                continue;
            }

            logical.Append(line);
            var text = logical.ToString().Trim();
            logical.Clear();
            if (text.Length == 0)
            {
                continue;
            }

            var space = text.IndexOfAny([' ', '\t']);
            var instruction = new DockerInstruction(
                (space < 0 ? text : text[..space]).ToUpperInvariant(),
                space < 0 ? "" : text[(space + 1)..].Trim());
            if (instruction.Keyword == "FROM")
            {
                stages.Add([]);
            }
            else if (stages.Count == 0)
            {
                if (instruction.Keyword != "ARG")
                {
                    throw new InvalidDataException($"{path}: {instruction.Keyword} before the first FROM.");
                }

                continue;
            }

            stages[^1].Add(instruction);
        }

        if (stages.Count == 0)
        {
            throw new InvalidDataException($"{path}: no FROM.");
        }

        return new DockerfileModel(stages);
    }

    /// <summary>The runtime stage's FROM image.</summary>
    public string RuntimeImage => RuntimeStage[0].Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];

    /// <summary>The runtime stage's ENV, in order (later wins).</summary>
    public IReadOnlyDictionary<string, string> RuntimeEnvironment
    {
        get
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var instruction in RuntimeStage.Where(i => i.Keyword == "ENV"))
            {
                foreach (var token in Tokenize(instruction.Arguments))
                {
                    var equals = token.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                    {
                        throw new InvalidDataException($"ENV '{instruction.Arguments}': only the key=value form is understood.");
                    }

                    env[token[..equals]] = token[(equals + 1)..];
                }
            }

            return env;
        }
    }

    /// <summary>The runtime stage's last WORKDIR (the container's working directory).</summary>
    public string RuntimeWorkingDirectory => RuntimeStage.Last(i => i.Keyword == "WORKDIR").Arguments;

    public IReadOnlyList<string> ExposedPorts =>
        [.. RuntimeStage.Where(i => i.Keyword == "EXPOSE").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))];

    public IReadOnlyList<string> Volumes =>
        [.. RuntimeStage.Where(i => i.Keyword == "VOLUME").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))];

    /// <summary>The runtime stage's USER (unexpanded, e.g. <c>$APP_UID</c>).</summary>
    public string RuntimeUser => RuntimeStage.Last(i => i.Keyword == "USER").Arguments;

    /// <summary>The exec-form ENTRYPOINT of the runtime stage.</summary>
    public IReadOnlyList<string> Entrypoint
    {
        get
        {
            var text = RuntimeStage.Last(i => i.Keyword == "ENTRYPOINT").Arguments;
            return JsonSerializer.Deserialize<string[]>(text)
                ?? throw new InvalidDataException($"ENTRYPOINT {text}: not the exec (JSON array) form.");
        }
    }

    /// <summary>
    /// The arguments after <c>dotnet</c> of the build stage's <c>RUN dotnet publish ...</c> (up to a following
    /// <c>&amp;&amp;</c>), with <c>$NAME</c> / <c>${NAME}</c> replaced from <paramref name="buildArguments"/>.
    /// </summary>
    public IReadOnlyList<string> PublishArguments(IReadOnlyDictionary<string, string> buildArguments)
    {
        var runs = Stages.Take(Stages.Count - 1)
            .SelectMany(s => s)
            .Where(i => i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet publish ", StringComparison.Ordinal))
            .ToList();
        if (runs.Count != 1)
        {
            throw new InvalidDataException($"Expected exactly one `RUN dotnet publish` in the build stages, found {runs.Count}.");
        }

        var command = runs[0].Arguments.Split("&&")[0];
        var tokens = Tokenize(command).Skip(1); // "dotnet"
        return [.. tokens.Select(t => Variable().Replace(t, m =>
        {
            var name = m.Groups["braced"].Success ? m.Groups["braced"].Value : m.Groups["plain"].Value;
            return buildArguments.TryGetValue(name, out var value)
                ? value
                : throw new InvalidDataException($"`dotnet publish` uses ${name}, which the test does not know.");
        }))];
    }

    /// <summary>Whitespace-separated words; double or single quotes group and are removed.</summary>
    private static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        char? quote = null;
        var inToken = false;
        foreach (var c in text)
        {
            if (quote is not null)
            {
                if (c == quote)
                {
                    quote = null;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inToken = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inToken)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                    inToken = false;
                }
            }
            else
            {
                current.Append(c);
                inToken = true;
            }
        }

        if (quote is not null)
        {
            throw new InvalidDataException($"Unclosed quote in: {text}");
        }

        if (inToken)
        {
            tokens.Add(current.ToString());
        }

        return tokens;
    }

    [GeneratedRegex(@"\$(?:\{(?<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?<plain>[A-Za-z_][A-Za-z0-9_]*))")]
    private static partial Regex Variable();
}
