using Microsoft.ML.Data;

namespace Microsoft.ML.Morphism.Tests.Infrastructure;

/// <summary>Small learnable image data: each class is a bright 5×5 square at its own place, plus noise.</summary>
public static class SyntheticImages
{
    public static readonly string[] Classes = ["circle", "square", "star", "tree"];

    /// <summary>A row of channels-first pixels in [0, 1] and a text label.</summary>
    public sealed class VectorRow
    {
        [VectorType(1 * 12 * 12)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    /// <summary>A row pointing at a PNG file.</summary>
    public sealed class FileRow
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";
    }

    public const int Size = 12;

    public static byte[] Pixels(int label, Random random, int size = Size)
    {
        var pixels = new byte[size * size];
        int top = 1 + (label * 3) % (size - 6), left = 1 + (label * 5) % (size - 6);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                bool inside = y >= top && y < top + 5 && x >= left && x < left + 5;
                pixels[y * size + x] = (byte)Math.Clamp((inside ? 200 : 30) + random.Next(-25, 26), 0, 255);
            }
        return pixels;
    }

    public static VectorRow[] Vectors(int perClass, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, perClass * Classes.Length).Select(i => new VectorRow
        {
            Features = [.. Pixels(i % Classes.Length, random).Select(p => p / 255f)],
            Label = Classes[i % Classes.Length],
        })];
    }

    /// <summary>Writes PNG files under <paramref name="folder"/> and returns rows pointing at them (absolute paths).</summary>
    public static FileRow[] Files(string folder, int perClass, int seed, int size = 28)
    {
        var random = new Random(seed);
        var rows = new List<FileRow>();
        for (int i = 0; i < perClass * Classes.Length; i++)
        {
            var label = Classes[i % Classes.Length];
            var path = Path.Combine(folder, $"{seed}_{i:D4}_{label}.png");
            WritePng(path, Pixels(i % Classes.Length, random, size), size);
            rows.Add(new FileRow { ImagePath = path, Label = label });
        }
        return [.. rows];
    }

    /// <summary>A gray image as a PNG through ImageAnalytics' MLImage (opaque 32-bit pixels, gray in every channel).</summary>
    private static void WritePng(string path, byte[] gray, int size)
    {
        var bgra = new byte[gray.Length * 4];
        for (int i = 0; i < gray.Length; i++)
        {
            bgra[4 * i] = bgra[4 * i + 1] = bgra[4 * i + 2] = gray[i];
            bgra[4 * i + 3] = byte.MaxValue;
        }
        using var image = MLImage.CreateFromPixels(size, size, MLPixelFormat.Bgra32, bgra);
        image.Save(path);
    }
}
