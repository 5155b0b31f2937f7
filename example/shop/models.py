from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    # An optional picture or data sheet, uploaded with the item's form.
    attachment = models.FileField(upload_to='items/', blank=True)

    class Meta:
        ordering = ['name']

    def __str__(self):
        return self.name

    def as_dict(self):
        return {
            'id': self.pk,
            'name': self.name,
            'price': str(self.price),
            'attachment': self.attachment.name or None,
        }
