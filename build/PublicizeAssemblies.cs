// Writes copies of ML.NET assemblies with their internals made public, for compiling against only.
//
// ML.NET (6.0.0, pinned exactly) keeps the machinery a component needs to live in a saved .zip (ModelSaveContext,
// ModelLoadContext, VersionInfo, LoadableClassAttribute, RowToRowTransformerBase, ...) internal.
// The library compiles against these copies and declares [IgnoresAccessChecksTo] for the originals,
// which are what runs. Rules: every type public; non-private methods, properties' accessors and
// fields public, except non-public virtual methods, which become protected (an override must match
// the accessibility the compiler sees); private members stay private.
// Compiled by MSBuild's RoslynCodeTaskFactory (netstandard2.0 API) with a reference to Mono.Cecil.
using System;
using System.IO;
using System.Reflection;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Mono.Cecil;

public sealed class PublicizeAssemblies : Task
{
    /// <summary>The assemblies to publicize (reference paths of ML.NET's assemblies).</summary>
    [Required]
    public ITaskItem[] Assemblies { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The folder the publicized copies are written to (under obj/).</summary>
    [Required]
    public string OutputDirectory { get; set; } = "";

    /// <summary>The Mono.Cecil.dll the task was compiled against (resolved at run time from here).</summary>
    [Required]
    public string CecilPath { get; set; } = "";

    public override bool Execute()
    {
        ResolveEventHandler resolve = (_, args) =>
            new AssemblyName(args.Name).Name == "Mono.Cecil" ? Assembly.LoadFrom(CecilPath) : null;
        AppDomain.CurrentDomain.AssemblyResolve += resolve;
        try
        {
            Directory.CreateDirectory(OutputDirectory);
            foreach (var item in Assemblies)
                Publicize(item.GetMetadata("FullPath"));
        }
        finally
        {
            AppDomain.CurrentDomain.AssemblyResolve -= resolve;
        }
        return !Log.HasLoggedErrors;
    }

    private void Publicize(string input)
    {
        var output = Path.Combine(OutputDirectory, Path.GetFileName(input));
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(input));
        using (var assembly = AssemblyDefinition.ReadAssembly(input, new ReaderParameters { AssemblyResolver = resolver }))
        {
            foreach (var module in assembly.Modules)
                foreach (var type in module.GetTypes())
                    PublicizeType(type);

            // Write next to the final path and move, so an interrupted build leaves no half-written reference.
            var temp = output + ".tmp";
            assembly.Write(temp);
            File.Delete(output);
            File.Move(temp, output);
        }
        Log.LogMessage(MessageImportance.Normal, $"Publicized {Path.GetFileName(input)} -> {output}");
    }

    private static void PublicizeType(TypeDefinition type)
    {
        if (type.IsNested)
            type.IsNestedPublic = true;
        else
            type.IsPublic = true;

        foreach (var method in type.Methods)
        {
            if (method.IsPrivate)
                continue;
            if (method.IsVirtual && !method.IsPublic)
                method.IsFamily = true;
            else
                method.IsPublic = true;
        }

        foreach (var field in type.Fields)
        {
            if (!field.IsPrivate)
                field.IsPublic = true;
        }
    }
}
