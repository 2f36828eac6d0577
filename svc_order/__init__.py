"""The orders service: checkout, as a saga over products and payments."""
