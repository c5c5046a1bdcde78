namespace Agentic.Testing;

/// <summary>Where things are: the repository root and the build output of the processes tests start.</summary>
public static class Repo
{
    /// <summary>The folder holding Agentic.Functions.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The build configuration the tests were built with (debug or release), used for sibling outputs.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;

    /// <summary>The built assembly of a project under .artifacts/bin.</summary>
    public static string Output(string project, string assembly)
    {
        var path = Path.Combine(Root, ".artifacts", "bin", project, Configuration, assembly);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build the solution first (./agentic test does).", path);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Agentic.Functions.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Agentic.Functions.sln not found above " + AppContext.BaseDirectory);
    }
}
