// Marks libLibTorchSharp.so's GLIBCXX_3.4.32 version requirement weak so it loads on Debian 12's libstdc++.
//
// TorchSharp 0.107's libLibTorchSharp.so was linked with GCC 13 and requires GLIBCXX_3.4.32 only for
// std::ios_base_library_init(), a link-time marker that is never called. Setting VER_FLG_WEAK on that
// one entry of the ELF .gnu.version_r section lets the dynamic loader accept an older libstdc++
// (GLIBCXX_3.4.30 on Debian 12); where the version exists the flag changes nothing.
// Compiled by MSBuild's RoslynCodeTaskFactory: keep it to netstandard2.0 and Microsoft.Build.Framework.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class MarkGlibcxxVersionWeak : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>The copies of libLibTorchSharp.so in a build or publish output (never the NuGet cache).</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The version requirement to mark weak.</summary>
    public string VersionName { get; set; } = "GLIBCXX_3.4.32";

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var bytes = File.ReadAllBytes(path);
                int marked = MarkWeak(bytes, VersionName, out var alreadyWeak);
                if (marked == 0)
                {
                    Log.LogMessage(MessageImportance.Low, alreadyWeak
                        ? $"{path}: {VersionName} is already weak."
                        : $"{path}: no {VersionName} requirement; nothing to do.");
                    continue;
                }

                // Write a new file and move it over the old one: if the output file is a hard link
                // into the NuGet cache, the cache keeps its original bytes.
                var timestamp = File.GetLastWriteTimeUtc(path);
                var temp = path + ".weak.tmp";
                File.WriteAllBytes(temp, bytes);
                File.Delete(path);
                File.Move(temp, path);
                // Keep the copy's timestamp so incremental copies still see it as up to date.
                File.SetLastWriteTimeUtc(path, timestamp);
                Log.LogMessage(MessageImportance.Normal, $"{path}: marked {VersionName} weak.");
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InvalidDataException)
            {
                Log.LogError($"Could not mark {VersionName} weak in {path}: {e.Message}");
            }
        }

        return !Log.HasLoggedErrors;
    }

    /// <summary>Sets VER_FLG_WEAK on every needed-version entry named <paramref name="name"/>; returns how many changed.</summary>
    public static int MarkWeak(byte[] elf, string name, out bool alreadyWeak)
    {
        alreadyWeak = false;
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported");

        ulong sectionHeaders = U64(elf, 0x28);
        int sectionHeaderSize = U16(elf, 0x3A);
        int sectionCount = U16(elf, 0x3C);
        int changed = 0;
        for (int s = 0; s < sectionCount; s++)
        {
            int header = Checked(sectionHeaders + (ulong)(s * sectionHeaderSize), 64, elf.Length);
            if (U32(elf, header + 4) != ShtGnuVerneed)
                continue;

            int offset = Checked(U64(elf, header + 0x18), 0, elf.Length);
            int stringSection = (int)U32(elf, header + 0x28);
            int needCount = (int)U32(elf, header + 0x2C);
            int stringHeader = Checked(sectionHeaders + (ulong)(stringSection * sectionHeaderSize), 64, elf.Length);
            int strings = Checked(U64(elf, stringHeader + 0x18), 0, elf.Length);

            int need = offset;
            for (int n = 0; n < needCount; n++)
            {
                Checked((ulong)need, 16, elf.Length);
                int auxCount = U16(elf, need + 2);
                int aux = need + (int)U32(elf, need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    Checked((ulong)aux, 16, elf.Length);
                    if (ReadString(elf, strings + (int)U32(elf, aux + 8)) == name)
                    {
                        ushort flags = (ushort)U16(elf, aux + 4);
                        if ((flags & VerFlgWeak) != 0)
                        {
                            alreadyWeak = true;
                        }
                        else
                        {
                            flags |= VerFlgWeak;
                            elf[aux + 4] = (byte)flags;
                            elf[aux + 5] = (byte)(flags >> 8);
                            changed++;
                        }
                    }
                    aux += (int)U32(elf, aux + 12);
                }
                need += (int)U32(elf, need + 12);
            }
        }
        return changed;
    }

    private static int Checked(ulong offset, int size, int length)
    {
        if (offset + (ulong)size > (ulong)length)
            throw new InvalidDataException("truncated or malformed ELF file");
        return (int)offset;
    }

    private static string ReadString(byte[] elf, int offset)
    {
        int end = Array.IndexOf(elf, (byte)0, offset);
        if (end < 0)
            throw new InvalidDataException("unterminated string in ELF string table");
        return Encoding.ASCII.GetString(elf, offset, end - offset);
    }

    private static int U16(byte[] b, int o) => b[o] | (b[o + 1] << 8);
    private static uint U32(byte[] b, int o) => BitConverter.ToUInt32(b, o);
    private static ulong U64(byte[] b, int o) => BitConverter.ToUInt64(b, o);
}
