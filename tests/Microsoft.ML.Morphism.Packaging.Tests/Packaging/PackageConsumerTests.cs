using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Xml.Linq;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Packaging;

/// <summary>
/// The packages as a consumer gets them: exact dependencies, no publicized ML.NET copies, the native
/// fix as buildTransitive — and a throwaway app restored offline from a local folder feed trains a step.
/// </summary>
[Collection(nameof(PackagingCollection))]
public class PackageConsumerTests(PackagingFixture packages)
{
    [Fact]
    public void LibraryPackageDependsOnExactVersions()
    {
        var dependencies = Dependencies(packages.Library);

        Assert.Equal("[6.0.0]", dependencies["Microsoft.ML"]);
        Assert.Equal("[6.0.0]", dependencies["Microsoft.ML.ImageAnalytics"]);
        Assert.Equal($"[{packages.Version}]", dependencies["Microsoft.ML.Morphism.Engine"]);
        Assert.DoesNotContain("Mono.Cecil", dependencies.Keys);
        Assert.Equal("[0.107.0]", Dependencies(packages.Engine)["TorchSharp"]);
        Assert.Equal("[0.107.0]", Dependencies(packages.Engine)["TorchSharp-cpu"]);
    }

    [Fact]
    public void PackagesContainNoPublicizedMLNetAssemblies()
    {
        foreach (var package in new[] { packages.Library, packages.Engine })
        {
            using var zip = ZipFile.OpenRead(package);
            Assert.DoesNotContain(zip.Entries, e => e.Name.StartsWith("Microsoft.ML.Core", StringComparison.Ordinal) || e.Name.StartsWith("Microsoft.ML.Data", StringComparison.Ordinal)
                || e.Name.StartsWith("Microsoft.ML.ImageAnalytics", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void EnginePackageCarriesTheNativeFixAsBuildTransitive()
    {
        using var zip = ZipFile.OpenRead(packages.Engine);

        Assert.Contains(zip.Entries, e => e.FullName == "buildTransitive/Microsoft.ML.Morphism.Engine.targets");
        Assert.Contains(zip.Entries, e => e.FullName == "buildTransitive/MarkGlibcxxVersionWeak.cs");
    }

    [Fact]
    public void OfflineConsumerRestoresFromTheLocalFeedAndTrainsAStep()
    {
        using var dir = new TempDirectory();
        var template = Path.Combine(AppContext.BaseDirectory, "Packaging", "Consumer");
        var project = Directory.CreateDirectory(dir.File("consumer")).FullName;
        File.WriteAllText(Path.Combine(project, "NuGet.config"),
            $"""<?xml version="1.0" encoding="utf-8"?><configuration><packageSources><clear /><add key="local" value="{packages.Feed}" /></packageSources></configuration>""");
        File.WriteAllText(Path.Combine(project, "Consumer.csproj"), File.ReadAllText(Path.Combine(template, "Consumer.csproj.template"))
            .Replace("$PACKAGES$", dir.File("packages"))
            .Replace("$FALLBACK$", PackagingFixture.GlobalPackagesFolder())
            .Replace("$VERSION$", packages.Version));
        File.Copy(Path.Combine(template, "Program.cs.template"), Path.Combine(project, "Program.cs"));

        var build = PackagingFixture.Dotnet(project, "build", "-c", "Release", "-o", dir.File("out"));
        Assert.True(build.ExitCode == 0, build.Output);
        var run = PackagingFixture.Dotnet(project, dir.File("out/Consumer.dll"));

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("trained one step, loss", run.Output);
    }

    private static Dictionary<string, string> Dependencies(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspec.Open();
        return XDocument.Load(stream).Descendants().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);
    }
}

/// <summary>Packs the two packages once (from the Release build the tests run on) into a local folder feed.</summary>
public sealed class PackagingFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public PackagingFixture()
    {
        var root = typeof(PackagingFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
        var configuration = typeof(PackagingFixture).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        Feed = _dir.File("feed");
        foreach (var project in new[] { "src/Microsoft.ML.Morphism.Engine", "src/Microsoft.ML.Morphism" })
        {
            var pack = Dotnet(root, "pack", Path.Combine(root, project), "-c", configuration, "--no-build", "-o", Feed);
            if (pack.ExitCode != 0)
                throw new InvalidOperationException($"dotnet pack {project} failed:\n{pack.Output}");
        }
        Engine = Directory.GetFiles(Feed, "Microsoft.ML.Morphism.Engine.*.nupkg").Single();
        Library = Directory.GetFiles(Feed, "Microsoft.ML.Morphism.*.nupkg").Single(p => p != Engine);
        Version = Path.GetFileNameWithoutExtension(Library)["Microsoft.ML.Morphism.".Length..];
    }

    public string Feed { get; }

    public string Library { get; }

    public string Engine { get; }

    public string Version { get; }

    public void Dispose() => _dir.Dispose();

    public static string GlobalPackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public static (int ExitCode, string Output) Dotnet(string workingDirectory, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // A child build must not join the test run's MSBuild nodes or inherit its test-host settings.
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment.Remove("MSBuildExtensionsPath");
        info.Environment.Remove("MSBuildSDKsPath");
        info.Environment.Remove("MSBUILD_EXE_PATH");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} did not finish in 5 minutes.");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}

[CollectionDefinition(nameof(PackagingCollection))]
public sealed class PackagingCollection : ICollectionFixture<PackagingFixture>;
