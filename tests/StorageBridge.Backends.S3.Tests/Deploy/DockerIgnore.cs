using System.Text;
using System.Text.RegularExpressions;

namespace StorageBridge.Backends.S3.Tests.Deploy;

/// <summary>
/// The rules of a <c>.dockerignore</c> as Docker applies them: paths relative to the context root, <c>*</c> and
/// <c>?</c> within one path segment, <c>**</c> across segments, <c>!</c> re-includes, the last matching rule wins, and
/// a rule that matches a folder covers everything below it. Used to build the same context <c>COPY . .</c> sees.
/// </summary>
public sealed class DockerIgnore
{
    private readonly List<(bool Include, Regex Pattern, string LiteralPrefix)> rules = [];

    private DockerIgnore()
    {
    }

    public static DockerIgnore Load(string path)
    {
        var ignore = new DockerIgnore();
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var include = line.StartsWith('!');
            var pattern = (include ? line[1..] : line).Trim().Trim('/');
            ignore.rules.Add((include, new Regex("^" + ToRegex(pattern) + "$", RegexOptions.CultureInvariant), LiteralPrefix(pattern)));
        }

        return ignore;
    }

    /// <summary>True when the file or folder at <paramref name="relativePath"/> (with '/') is left out of the context.</summary>
    public bool IsExcluded(string relativePath)
    {
        var excluded = false;
        foreach (var (include, pattern, _) in rules)
        {
            if (MatchesOrParentMatches(pattern, relativePath))
            {
                excluded = !include;
            }
        }

        return excluded;
    }

    /// <summary>Copies the files of <paramref name="root"/> that the rules keep into <paramref name="destination"/>.</summary>
    public int CopyContext(string root, string destination)
    {
        var copied = 0;
        var pending = new Stack<string>();
        pending.Push("");
        while (pending.Count > 0)
        {
            var relativeDirectory = pending.Pop();
            var directory = new DirectoryInfo(Path.Combine(root, relativeDirectory));
            foreach (var entry in directory.EnumerateFileSystemInfos())
            {
                var relative = relativeDirectory.Length == 0 ? entry.Name : relativeDirectory + "/" + entry.Name;
                if (entry is DirectoryInfo)
                {
                    // Symbolic links to folders (node_modules here) are never followed; a folder is entered when it
                    // is kept or when a re-including rule may keep something below it.
                    if (entry.LinkTarget is null && (!IsExcluded(relative) || MayIncludeBelow(relative)))
                    {
                        pending.Push(relative);
                    }
                }
                else if (!IsExcluded(relative))
                {
                    var target = Path.Combine(destination, relative);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(entry.FullName, target);
                    copied++;
                }
            }
        }

        return copied;
    }

    private bool MayIncludeBelow(string relativeDirectory) =>
        rules.Any(r => r.Include && (r.LiteralPrefix.Length == 0
            || r.LiteralPrefix.StartsWith(relativeDirectory + "/", StringComparison.Ordinal)
            || (relativeDirectory + "/").StartsWith(r.LiteralPrefix, StringComparison.Ordinal)));

    private static bool MatchesOrParentMatches(Regex pattern, string relativePath)
    {
        if (pattern.IsMatch(relativePath))
        {
            return true;
        }

        for (var slash = relativePath.LastIndexOf('/'); slash > 0; slash = relativePath.LastIndexOf('/', slash - 1))
        {
            if (pattern.IsMatch(relativePath[..slash]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The pattern's folders before its first wildcard ("web/src" for "web/src", "" for "**/bin").</summary>
    private static string LiteralPrefix(string pattern)
    {
        var wildcard = pattern.IndexOfAny(['*', '?', '[']);
        return wildcard < 0 ? pattern : pattern[..(pattern.LastIndexOf('/', Math.Max(0, wildcard - 1)) + 1)];
    }

    private static string ToRegex(string pattern)
    {
        var regex = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                var slashFollows = i + 2 < pattern.Length && pattern[i + 2] == '/';
                regex.Append(slashFollows ? "(?:.*/)?" : ".*");
                i += slashFollows ? 2 : 1;
            }
            else if (c == '*')
            {
                regex.Append("[^/]*");
            }
            else if (c == '?')
            {
                regex.Append("[^/]");
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }

        return regex.ToString();
    }
}
