// Light image augmentation applied to whole batch tensors: random shifts and horizontal flips.
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// Random translations by up to <c>shift</c> pixels (zero fill) and left-right flips, drawn per
/// example from the trainer's own generator (no global random state), applied on [N, C, H, W] batches.
/// </summary>
internal sealed class Augmentation(int shift, bool flip, Generator generator)
{
    public bool IsEnabled => shift > 0 || flip;

    public Tensor Apply(Tensor batch)
    {
        if (batch.dim() != 4 || !IsEnabled)
            return batch;
        long n = batch.shape[0], h = batch.shape[2], w = batch.shape[3];
        var x = batch;
        if (flip)
        {
            using var half = 0.5.ToScalar(); // held until lt returns: see HeldScalars
            var mask = rand([n, 1, 1, 1], generator: generator, device: batch.device).lt(half);
            x = where(mask, x.flip(3), x);
        }
        if (shift > 0)
        {
            // Pad once, then cut each example's window; examples sharing an offset are cut together.
            var padded = nn.functional.pad(x, [shift, shift, shift, shift]);
            // Drawn on the generator's device (a CUDA generator cannot fill a CPU tensor), read on the CPU.
            var offsets = randint(0, 2 * shift + 1, [n, 2], device: batch.device, generator: generator).cpu().data<long>().ToArray();
            var shifted = empty_like(x);
            foreach (var group in Enumerable.Range(0, (int)n).GroupBy(i => (offsets[2 * i], offsets[2 * i + 1])))
            {
                var index = tensor(group.Select(i => (long)i).ToArray(), device: batch.device);
                var window = padded.index_select(0, index).narrow(2, group.Key.Item1, h).narrow(3, group.Key.Item2, w);
                shifted.index_copy_(0, index, window);
            }
            x = shifted;
        }
        return x;
    }
}
