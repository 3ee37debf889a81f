// Tensor sums whose Scalar (alpha = 1) is held until libtorch has read it, instead of TorchSharp's on-the-fly temporary.
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Modules;

/// <summary>
/// TorchSharp's <c>a.add(b)</c> makes its alpha = 1 as a temporary Scalar, whose raw handle goes to libtorch while the
/// Scalar itself can already be finalized (freed) by a collector running on another thread: libtorch then reads freed
/// memory ("Expected false to be true ... toFloat", c10/core/Scalar.h). The same holds for every overload that fills in
/// a Scalar argument itself (<c>add(Scalar)</c> passes alpha = 1, <c>addcdiv_(a, b)</c> value = 1): code that runs every
/// batch passes every Scalar explicitly, held by a <c>using</c> until the call returns, and adds tensors through here.
/// </summary>
internal static class HeldScalars
{
    /// <summary><paramref name="a"/> + <paramref name="b"/>, with the Scalar kept alive across the native call.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        using var one = 1.ToScalar();
        return a.add(b, one);
    }
}
