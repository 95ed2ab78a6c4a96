"""Colour spaces: RGB <-> CIE LAB and the normalization of L and ab (lab), and the quantized ab
colour classes of the classification loss (colorclasses).
"""
