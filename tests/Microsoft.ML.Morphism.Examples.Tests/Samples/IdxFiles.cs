// Builds small synthetic IDX files (plain or gzipped) so the reader's checks can be tested without the real data set.
using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Tests.Samples;

/// <summary>Bytes of IDX files, valid or deliberately broken, for the reader tests.</summary>
internal static class IdxFiles
{
    /// <summary>A magic number followed by big-endian dimension sizes.</summary>
    public static byte[] Header(int magic, params int[] sizes)
    {
        var header = new byte[4 + 4 * sizes.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (var d = 0; d < sizes.Length; d++)
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), sizes[d]);
        return header;
    }

    /// <summary>A valid images file holding <paramref name="pixels"/> as <paramref name="count"/> images of <paramref name="rows"/> x <paramref name="columns"/>.</summary>
    public static byte[] Images(int count, int rows, int columns, byte[] pixels) =>
        [.. Header(IdxReader.ImagesMagic, count, rows, columns), .. pixels];

    /// <summary>A valid labels file holding <paramref name="labels"/>.</summary>
    public static byte[] Labels(byte[] labels) => [.. Header(IdxReader.LabelsMagic, labels.Length), .. labels];

    /// <summary><paramref name="content"/> compressed as a gzip file.</summary>
    public static byte[] Gzip(byte[] content)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(content);
        return compressed.ToArray();
    }

    /// <summary>Random pixels (seeded, so a failure reproduces).</summary>
    public static byte[] RandomPixels(int length, int seed)
    {
        var pixels = new byte[length];
        new Random(seed).NextBytes(pixels);
        return pixels;
    }

    /// <summary>
    /// Writes a Fashion-MNIST-shaped data folder of small images into <paramref name="folder"/>:
    /// the labels cycle 0..9 for <paramref name="trainCount"/> training and <paramref name="testCount"/> test images of 2x3 pixels,
    /// and every pixel of image i is i (mod 256), so each image can be recognised by its pixels.
    /// </summary>
    public static void WriteFashionMnistFolder(string folder, int trainCount, int testCount)
    {
        Directory.CreateDirectory(folder);
        Write(folder, "train", trainCount);
        Write(folder, "t10k", testCount);

        static void Write(string folder, string prefix, int count)
        {
            var labels = Enumerable.Range(0, count).Select(i => (byte)(i % FashionMnist.ClassCount)).ToArray();
            var pixels = Enumerable.Range(0, count).SelectMany(i => Enumerable.Repeat((byte)i, 6)).ToArray();
            File.WriteAllBytes(Path.Combine(folder, $"{prefix}-images-idx3-ubyte.gz"), Gzip(Images(count, 2, 3, pixels)));
            File.WriteAllBytes(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte.gz"), Gzip(Labels(labels)));
        }
    }
}
