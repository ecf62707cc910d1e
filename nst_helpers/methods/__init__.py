"""The methods layer: one module per method a learner meets. Gatys et al.'s style transfer
(`gatys`), content reconstruction and texture synthesis (`reconstruction`), feature
visualization (`featurevis`), one unit's activation projected back to the pixels: gradient,
guided backprop, deconvnet (`attribution`), DeepDream (`deepdream`), AdaIN statistics
(`adain`), patch matching (`patches`), several styles (`styles`), and the set-up they share
(`setup`)."""
